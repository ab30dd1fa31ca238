# bash completion for wgbgp. Generated from its command tree by `wgbgp completion bash`: do not edit.
# Install: copy to /usr/share/bash-completion/completions/wgbgp, or source it from ~/.bashrc.
# A command is a key: its path from the program, joined by spaces.

# The subcommand $2 of command $1, as a key.
__wgbgp_subcommand() {
  case "$1/$2" in
    'wgbgp/agent') REPLY='wgbgp agent' ;;
    'wgbgp/config') REPLY='wgbgp config' ;;
    'wgbgp/status') REPLY='wgbgp status' ;;
    'wgbgp/tunnels') REPLY='wgbgp tunnels' ;;
    'wgbgp/neighbors') REPLY='wgbgp neighbors' ;;
    'wgbgp/neighbor') REPLY='wgbgp neighbor' ;;
    'wgbgp/watch') REPLY='wgbgp watch' ;;
    'wgbgp/log-level') REPLY='wgbgp log-level' ;;
    'wgbgp/ospf') REPLY='wgbgp ospf' ;;
    'wgbgp/routes') REPLY='wgbgp routes' ;;
    'wgbgp/reload') REPLY='wgbgp reload' ;;
    'wgbgp/genkey') REPLY='wgbgp genkey' ;;
    'wgbgp/pubkey') REPLY='wgbgp pubkey' ;;
    'wgbgp/lab') REPLY='wgbgp lab' ;;
    'wgbgp/completion') REPLY='wgbgp completion' ;;
    'wgbgp/man') REPLY='wgbgp man' ;;
    'wgbgp/help') REPLY='wgbgp help' ;;
    'wgbgp config/check') REPLY='wgbgp config check' ;;
    'wgbgp config/help') REPLY='wgbgp config help' ;;
    'wgbgp ospf/neighbors') REPLY='wgbgp ospf neighbors' ;;
    'wgbgp ospf/routes') REPLY='wgbgp ospf routes' ;;
    'wgbgp ospf/help') REPLY='wgbgp ospf help' ;;
    'wgbgp lab/up') REPLY='wgbgp lab up' ;;
    'wgbgp lab/down') REPLY='wgbgp lab down' ;;
    'wgbgp lab/test') REPLY='wgbgp lab test' ;;
    'wgbgp lab/help') REPLY='wgbgp lab help' ;;
    *) REPLY='' ;;
  esac
}

# The names of the subcommands of command $1.
__wgbgp_subcommands() {
  case "$1" in
    'wgbgp') REPLY='agent config status tunnels neighbors neighbor watch log-level ospf routes reload genkey pubkey lab completion man help' ;;
    'wgbgp config') REPLY='check help' ;;
    'wgbgp ospf') REPLY='neighbors routes help' ;;
    'wgbgp lab') REPLY='up down test help' ;;
    *) REPLY='' ;;
  esac
}

# The options of command $1.
__wgbgp_options() {
  case "$1" in
    'wgbgp') REPLY='-V --version -h --help' ;;
    'wgbgp agent') REPLY='--config -h --help' ;;
    'wgbgp config') REPLY='-h --help' ;;
    'wgbgp config check') REPLY='--strict -h --help' ;;
    'wgbgp config help') REPLY='' ;;
    'wgbgp status') REPLY='--json --socket --config -h --help' ;;
    'wgbgp tunnels') REPLY='--json --socket --config -h --help' ;;
    'wgbgp neighbors') REPLY='--json --socket --config -h --help' ;;
    'wgbgp neighbor') REPLY='--in --out --message --json --socket --config -h --help' ;;
    'wgbgp watch') REPLY='--json --socket --config -h --help' ;;
    'wgbgp log-level') REPLY='--json --socket --config -h --help' ;;
    'wgbgp ospf') REPLY='-h --help' ;;
    'wgbgp ospf neighbors') REPLY='--json --socket --config -h --help' ;;
    'wgbgp ospf routes') REPLY='--json --socket --config -h --help' ;;
    'wgbgp ospf help') REPLY='' ;;
    'wgbgp routes') REPLY='--json --socket --config -h --help' ;;
    'wgbgp reload') REPLY='--dry-run --json --socket --config -h --help' ;;
    'wgbgp genkey') REPLY='-h --help' ;;
    'wgbgp pubkey') REPLY='-h --help' ;;
    'wgbgp lab') REPLY='-h --help' ;;
    'wgbgp lab up') REPLY='-h --help' ;;
    'wgbgp lab down') REPLY='-h --help' ;;
    'wgbgp lab test') REPLY='-h --help' ;;
    'wgbgp lab help') REPLY='' ;;
    'wgbgp completion') REPLY='-h --help' ;;
    'wgbgp man') REPLY='-h --help' ;;
    'wgbgp help') REPLY='' ;;
    *) REPLY='' ;;
  esac
}

# How to complete the value of option $2 of command $1 ('' when it is a flag).
__wgbgp_option_value() {
  case "$1/$2" in
    'wgbgp agent/--config') REPLY='file' ;;
    'wgbgp status/--socket') REPLY='file' ;;
    'wgbgp status/--config') REPLY='file' ;;
    'wgbgp tunnels/--socket') REPLY='file' ;;
    'wgbgp tunnels/--config') REPLY='file' ;;
    'wgbgp neighbors/--socket') REPLY='file' ;;
    'wgbgp neighbors/--config') REPLY='file' ;;
    'wgbgp neighbor/--message') REPLY='text' ;;
    'wgbgp neighbor/--socket') REPLY='file' ;;
    'wgbgp neighbor/--config') REPLY='file' ;;
    'wgbgp watch/--socket') REPLY='file' ;;
    'wgbgp watch/--config') REPLY='file' ;;
    'wgbgp log-level/--socket') REPLY='file' ;;
    'wgbgp log-level/--config') REPLY='file' ;;
    'wgbgp ospf neighbors/--socket') REPLY='file' ;;
    'wgbgp ospf neighbors/--config') REPLY='file' ;;
    'wgbgp ospf routes/--socket') REPLY='file' ;;
    'wgbgp ospf routes/--config') REPLY='file' ;;
    'wgbgp routes/--socket') REPLY='file' ;;
    'wgbgp routes/--config') REPLY='file' ;;
    'wgbgp reload/--socket') REPLY='file' ;;
    'wgbgp reload/--config') REPLY='file' ;;
    *) REPLY='' ;;
  esac
}

# How to complete positional argument $2 (from 0) of command $1.
__wgbgp_argument() {
  local -a specs=()
  local variadic=0
  case "$1" in
    'wgbgp config check') specs=('file') ;;
    'wgbgp config help') specs=('choice check') ;;
    'wgbgp neighbors') specs=('text') ;;
    'wgbgp neighbor') specs=('text' 'choice shutdown enable reset refresh') ;;
    'wgbgp log-level') specs=('text' 'text') ;;
    'wgbgp ospf help') specs=('choice neighbors routes') ;;
    'wgbgp routes') specs=('text') ;;
    'wgbgp lab up') specs=('directory') ;;
    'wgbgp lab down') specs=('directory') ;;
    'wgbgp lab test') specs=('directory') ;;
    'wgbgp lab help') specs=('choice up down test') ;;
    'wgbgp completion') specs=('choice bash zsh') ;;
    'wgbgp help') specs=('choice agent config status tunnels neighbors neighbor watch log-level ospf routes reload genkey pubkey lab completion man') ;;
  esac
  if (( $2 < ${#specs[@]} )); then
    REPLY=${specs[$2]}
  elif (( variadic )); then
    REPLY=${specs[-1]}
  else
    REPLY=''
  fi
}

# Sets COMPREPLY for value kind $1 (file, directory, "choice WORD...", text) and the word $2.
__wgbgp_value() {
  case "$1" in
    file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
    directory) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$2") ;;
    choice\ *) mapfile -t COMPREPLY < <(compgen -W "${1#choice }" -- "$2") ;;
    *) COMPREPLY=() ;;
  esac
}

_wgbgp() {
  local key='wgbgp' cur=${COMP_WORDS[COMP_CWORD]} value='' n=0 operands=0 i w REPLY
  COMPREPLY=()
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w=${COMP_WORDS[i]}
    if [[ $w == -- ]]; then
      operands=1
    elif [[ $w == -* ]] && (( ! operands )); then
      __wgbgp_option_value "$key" "$w"
      [[ -z $REPLY ]] && continue
      # bash splits --socket=PATH at the '='.
      [[ ${COMP_WORDS[i+1]-} == = ]] && (( ++i ))
      if (( i + 1 >= COMP_CWORD )); then
        value=$REPLY
        break
      fi
      (( ++i ))
    elif (( n == 0 && ! operands )) && __wgbgp_subcommand "$key" "$w" && [[ -n $REPLY ]]; then
      key=$REPLY
    else
      (( ++n ))
    fi
  done
  [[ $cur == = ]] && cur=''
  if [[ -n $value ]]; then
    __wgbgp_value "$value" "$cur"
  elif [[ $cur == -* ]] && (( ! operands )); then
    __wgbgp_options "$key"
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
  elif (( n == 0 )) && __wgbgp_subcommands "$key" && [[ -n $REPLY ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
  else
    __wgbgp_argument "$key" "$n"
    __wgbgp_value "$REPLY" "$cur"
  fi
}

complete -F _wgbgp wgbgp
