#!/usr/bin/env bash
# Fetches the privacy benchmark's corpora from Debian's package archive, once: the Python documentation (HTML) as
# traffic and the fortune cookies as the attacker's unrelated statistics. The benchmark itself downloads nothing.
# Usage: scripts/fetch-privacy-corpora.sh [DIR]   (default: ~/.cache/eestream/corpora)
set -euo pipefail
dest="${1:-$HOME/.cache/eestream/corpora}"
mkdir -p "$dest/debs" "$dest/root"
cd "$dest/debs"
# python3-doc is a metapackage; the documentation lives in python3.X-doc for this release's X.
doc=$(apt-cache depends python3-doc | grep -o 'python3\.[0-9]*-doc' | head -1)
apt-get download "$doc" fortunes fortunes-min 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
for deb in *.deb; do
  dpkg-deb -x "$deb" "$dest/root"
done
html=$(find "$dest/root/usr/share/doc" -maxdepth 2 -type d -name html | head -1)
echo "--corpus $html --reference-corpus $dest/root/usr/share/games/fortunes"
