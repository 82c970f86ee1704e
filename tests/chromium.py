"""How every test, benchmark and smoke script starts Debian's Chromium (no pytest import)."""

CHROMIUM = "/usr/bin/chromium"

# Headless as root in a sandbox-less container; without the background-networking flags
# Chromium keeps trying to reach the internet, which this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
