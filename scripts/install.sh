#!/usr/bin/env bash
# Installs wgbgp from this checkout as a systemd service (docs/operations.md).
#
#   scripts/install.sh [--no-build] [--genkey]
#
#   --no-build  install dist/ as it is (default: `npm run build` first)
#   --genkey    create /etc/wgbgp/private.key (mode 0600) when there is none
#
# DESTDIR  stage everything under this folder instead of / (packages, tests);
#          then nothing outside it is touched and systemctl is never called.
# PREFIX   default /usr: the program goes to $PREFIX/lib/wgbgp, the command to
#          $PREFIX/bin/wgbgp, the unit to $PREFIX/lib/systemd/system (UNITDIR
#          overrides), the docs to $PREFIX/share/doc/wgbgp. The configuration is
#          always /etc/wgbgp.
#
# Needs the checkout's dependencies (`npm ci`, as scripts/setup.sh does); the
# production ones are copied from node_modules, so no registry is needed here.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
genkey=0
for arg in "$@"; do
  case $arg in
    --no-build) build=0 ;;
    --genkey) genkey=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install.sh: unknown argument $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
case $PREFIX in
  /?*) ;;
  *) echo "install.sh: PREFIX must be an absolute path below /, not $PREFIX" >&2; exit 2 ;;
esac
PREFIX=${PREFIX%/}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root, or set DESTDIR to stage the files elsewhere" >&2
  exit 1
fi

if [ "$build" = 1 ]; then
  npm run build --silent
fi
if [ ! -f dist/cli/main.js ]; then
  echo "install.sh: dist/ is not built; run \`npm run build\` (or drop --no-build)" >&2
  exit 1
fi
# The production dependency tree, as npm resolved it in node_modules.
if ! deps=$(npm ls --omit=dev --all --parseable 2>/dev/null); then
  echo "install.sh: the checkout's dependencies are missing or broken; run \`npm ci\` first" >&2
  npm ls --omit=dev --all >&2 || true
  exit 1
fi

lib=$DESTDIR$PREFIX/lib/wgbgp
bindir=$DESTDIR$PREFIX/bin
docdir=$DESTDIR$PREFIX/share/doc/wgbgp
unitdir=$DESTDIR$UNITDIR
etc=$DESTDIR/etc/wgbgp

# The program: staged next to the old one, then swapped, so an install never
# leaves a half-copied tree or files of an older version behind.
rm -rf "$lib.new" "$lib.old"
mkdir -p "$lib.new"
cp -R dist bin "$lib.new/"
cp package.json package-lock.json LICENSE README.md "$lib.new/"
root=$PWD
while IFS= read -r dir; do
  [ "$dir" = "$root" ] && continue
  rel=${dir#"$root"/}
  # Sorted, a package comes before those nested in it, which it brought along.
  [ -e "$lib.new/$rel" ] && continue
  mkdir -p "$lib.new/$(dirname "$rel")"
  cp -R "$rel" "$lib.new/$rel"
done < <(printf '%s\n' "$deps" | LC_ALL=C sort)
chmod -R u=rwX,go=rX "$lib.new"
[ -e "$lib" ] && mv "$lib" "$lib.old"
mv "$lib.new" "$lib"
rm -rf "$lib.old"

mkdir -p "$bindir"
ln -sfn "../lib/wgbgp/bin/wgbgp" "$bindir/wgbgp"

# The unit names /usr/bin/wgbgp and /usr/share/doc/wgbgp; another PREFIX moves both.
mkdir -p "$unitdir"
sed -e "s#/usr/bin/wgbgp#$PREFIX/bin/wgbgp#g" -e "s#/usr/share/doc/wgbgp#$PREFIX/share/doc/wgbgp#g" \
  contrib/wgbgp.service > "$unitdir/wgbgp.service"
chmod 0644 "$unitdir/wgbgp.service"

mkdir -p "$docdir"
install -m 0644 README.md docs/*.md "$docdir/"
for page in docs/*.[1-8]; do
  [ -e "$page" ] || continue
  mkdir -p "$DESTDIR$PREFIX/share/man/man${page##*.}"
  install -m 0644 "$page" "$DESTDIR$PREFIX/share/man/man${page##*.}/"
done
if [ -f contrib/completion/wgbgp.bash ]; then
  install -D -m 0644 contrib/completion/wgbgp.bash "$DESTDIR$PREFIX/share/bash-completion/completions/wgbgp"
fi
if [ -f contrib/completion/_wgbgp ]; then
  install -D -m 0644 contrib/completion/_wgbgp "$DESTDIR$PREFIX/share/zsh/vendor-completions/_wgbgp"
fi

# /etc/wgbgp: root only (0750), the same mode the unit's ConfigurationDirectory= sets.
mkdir -p "$etc"
chmod 0750 "$etc"
install -m 0640 contrib/wgbgp.yaml.example "$etc/wgbgp.yaml.example"
if [ -e "$etc/wgbgp.yaml" ]; then
  echo "kept /etc/wgbgp/wgbgp.yaml (the new example is /etc/wgbgp/wgbgp.yaml.example)"
else
  install -m 0640 contrib/wgbgp.yaml.example "$etc/wgbgp.yaml"
  echo "wrote /etc/wgbgp/wgbgp.yaml from the example: edit it before starting the service"
fi

key=$etc/private.key
if [ -e "$key" ]; then
  if [ -n "$(find "$key" -perm /077)" ]; then
    echo "warning: /etc/wgbgp/private.key is readable by others; the agent refuses it: chmod 600 /etc/wgbgp/private.key" >&2
  fi
elif [ "$genkey" = 1 ]; then
  (
    umask 077
    "$bindir/wgbgp" genkey > "$key.tmp"
    mv "$key.tmp" "$key"
  )
  echo "wrote /etc/wgbgp/private.key (0600); its public key, for the neighbors: $("$bindir/wgbgp" pubkey < "$key")"
fi

# Under systemd the command runs with systemd's PATH, where `node` must be.
if ! PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v node >/dev/null; then
  echo "warning: no \`node\` in /usr/local/bin or /usr/bin, where the service looks for it (Node.js 20 or newer)" >&2
fi
if ! command -v wireguard-go >/dev/null; then
  echo "warning: wireguard-go is not installed (apt-get install --no-install-recommends wireguard-go wireguard-tools)" >&2
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi

cat <<EOF

wgbgp $(node -p 'require("./package.json").version') installed in ${DESTDIR:-/}: $PREFIX/bin/wgbgp, unit $UNITDIR/wgbgp.service.
Next steps:
  1. edit /etc/wgbgp/wgbgp.yaml (every key: $PREFIX/share/doc/wgbgp/configuration.md)
EOF
if [ ! -e "$key" ]; then
  echo "  2. create the key: (umask 077; wgbgp genkey > /etc/wgbgp/private.key)"
else
  echo "  2. the key is in place: /etc/wgbgp/private.key"
fi
cat <<EOF
  3. wgbgp config check --strict /etc/wgbgp/wgbgp.yaml
  4. systemctl daemon-reload && systemctl enable --now wgbgp
  5. systemctl status wgbgp; journalctl -u wgbgp -f; wgbgp status
EOF
