#!/usr/bin/env bash
# Create ./.venv (if missing) and install the package with its test extras into it.
#
#   bash scripts/venv.sh          # or: source scripts/venv.sh
#
# The install is skipped when pyproject.toml has not changed since the last one
# (the package is installed in editable mode, so source edits need no reinstall);
# STORK_REINSTALL=1 forces it. PYTHON selects the interpreter (default python3).
set -euo pipefail

_stork_venv() {
    local root python venv stamp want
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    python="${PYTHON:-python3}"
    venv="$root/.venv"
    stamp="$venv/.stork-install-stamp"

    if ! command -v "$python" >/dev/null 2>&1; then
        echo "venv.sh: $python not found; install Python 3.10 or later" >&2
        return 1
    fi
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        echo "venv.sh: $python is older than 3.10" >&2
        return 1
    fi

    if [ ! -x "$venv/bin/python" ]; then
        echo "venv.sh: creating $venv"
        if ! "$python" -m venv "$venv" 2>/dev/null; then
            # Debian ships venv/ensurepip separately (python3-venv).
            rm -rf "$venv"
            if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
                echo "venv.sh: installing python3-venv"
                DEBIAN_FRONTEND=noninteractive apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            fi
            "$python" -m venv "$venv"
        fi
    fi

    # pyproject and the sidebar's sources: a change to either rebuilds (the install
    # runs the labextension build through hatch-jupyter-builder)
    want="$(cd "$root" && cat pyproject.toml "$venv/bin/python" labextension/package.json \
        labextension/yarn.lock $(find labextension/src labextension/style -type f | sort) \
        2>/dev/null | sha256sum | cut -d' ' -f1)"
    if [ "${STORK_REINSTALL:-0}" = 1 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        if ! command -v node >/dev/null 2>&1; then
            echo "venv.sh: Node.js (20 or later) is needed to build the JupyterLab panel" \
                 "(labextension/); install it, e.g. apt-get install nodejs npm" >&2
            return 1
        fi
        echo "venv.sh: installing stork_jupyter[test] into $venv"
        # A current pip: the resolver of the pip bundled with older Pythons gives up on
        # the s3fs / aiobotocore / botocore pins.
        # (this machine's pip config names index folders that may not exist: drop
        # pip's warning line for each, keep everything else it says)
        "$venv/bin/python" -m pip install --quiet --upgrade pip \
            2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
        # A rebuilt panel may leave a copy of install.json in the build folder; the
        # wheel takes labextension/install.json, and two of one name fail the build.
        rm -f "$root/stork_jupyter/labextension/install.json"
        "$venv/bin/python" -m pip install --quiet -e "$root[test]" \
            2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
        # The editable install copied the built panel into the venv; a symlink instead
        # lets `jlpm build` in labextension/ take effect without reinstalling.
        (cd "$root" && PATH="$venv/bin:$PATH" "$venv/bin/jupyter-builder" develop --overwrite . >/dev/null)
        echo "$want" >"$stamp"
    fi
}

_stork_venv
