#!/usr/bin/env bash
# Builds wgbgp_<version>_<arch>.deb from the tree scripts/install.sh stages
# (docs/operations.md has the layout).
#
#   scripts/build-deb.sh [--no-build] [OUTDIR]     (OUTDIR default: .)
#
# The package ships /etc/wgbgp/wgbgp.yaml.example as its conffile; postinst
# makes /etc/wgbgp/wgbgp.yaml from it once, so dpkg never owns the operator's
# file, and never makes a key or starts the service. koffi's native code makes
# the package architecture-specific. Maintainer: DEBFULLNAME and DEBEMAIL.
set -euo pipefail
cd "$(dirname "$0")/.."

install_args=()
out=.
for arg in "$@"; do
  case $arg in
    --no-build) install_args+=(--no-build) ;;
    -*) echo "build-deb.sh: unknown option $arg" >&2; exit 2 ;;
    *) out=$arg ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "build-deb.sh: needs dpkg-deb (Debian's dpkg)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
DESTDIR=$stage PREFIX=/usr scripts/install.sh "${install_args[@]}" >/dev/null
rm -f "$stage/etc/wgbgp/wgbgp.yaml"

version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<EOF
Package: wgbgp
Version: $version
Architecture: $arch
Maintainer: ${DEBFULLNAME:-wgbgp maintainers} <${DEBEMAIL:-root@localhost}>
Installed-Size: $(du -sk "$stage" | cut -f1)
Depends: nodejs (>= 20), wireguard-go, iproute2
Recommends: wireguard-tools
Section: net
Priority: optional
Description: WireGuard tunnels per neighbor with BGP across them
 A routing agent that builds one WireGuard interface per neighbor, runs BGP
 across it and installs the learned routes into the Linux or VPP FIB. Runs as
 the systemd service wgbgp, configured by /etc/wgbgp/wgbgp.yaml.
EOF
echo /etc/wgbgp/wgbgp.yaml.example > "$stage/DEBIAN/conffiles"

cat > "$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  chmod 0750 /etc/wgbgp
  if [ ! -e /etc/wgbgp/wgbgp.yaml ]; then
    install -m 0640 /etc/wgbgp/wgbgp.yaml.example /etc/wgbgp/wgbgp.yaml
    echo "wgbgp: edit /etc/wgbgp/wgbgp.yaml, make a key: (umask 077; wgbgp genkey > /etc/wgbgp/private.key),"
    echo "wgbgp: then: systemctl enable --now wgbgp (see /usr/share/doc/wgbgp/operations.md)"
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    # An upgrade restarts a running agent; its tunnels stay up (KillMode=process).
    if [ -n "$2" ]; then systemctl try-restart wgbgp.service || true; fi
  fi
fi
EOF
cat > "$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ]; then
  if [ -d /run/systemd/system ]; then systemctl stop wgbgp.service || true; fi
  systemctl disable wgbgp.service >/dev/null 2>&1 || true
fi
EOF
cat > "$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  rm -f /etc/wgbgp/wgbgp.yaml
  if [ -e /etc/wgbgp/private.key ]; then
    echo "wgbgp: /etc/wgbgp/private.key is kept; remove it yourself when the router is retired"
  else
    rmdir /etc/wgbgp 2>/dev/null || true
  fi
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
EOF
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"

mkdir -p "$out"
deb=$out/wgbgp_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
