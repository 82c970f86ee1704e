#!/bin/sh
# Container entrypoint: give numba a writable kernel cache, then run the command.
#
# The image bakes the compiled kernels into /opt/numba-cache. numba only uses a cache
# directory it can write to, so when that one is not writable (read-only root file
# system, or a non-root user) the baked cache is copied to /tmp and used from there.
set -eu

baked=/opt/numba-cache
if [ "${NUMBA_CACHE_DIR:-}" = "$baked" ] && [ ! -w "$baked" ]; then
    runtime=/tmp/numba-cache
    mkdir -p "$runtime"
    cp -R "$baked/." "$runtime/"
    NUMBA_CACHE_DIR=$runtime
    export NUMBA_CACHE_DIR
fi

exec "$@"
