#!/bin/sh
# The browser the console's tests drive (pingan_stack.browser_testing), installed by the project itself so that a
# fresh clone's `make test` has it. Called by the Makefile's test target; safe to run again (it does nothing, at
# once, when the browser and the font are there).
#
#   Debian (and derivatives that package Chromium as a .deb): Debian's `chromium` and the CJK font
#     `fonts-wqy-microhei` with apt-get, as root or through `sudo -n`;
#   Ubuntu (whose `chromium` is a snap, useless in containers) and every other machine: Playwright's own Chromium
#     build (`python -m playwright install chromium`), plus the font from apt where apt is there.
# Without a CJK font Chromium draws Chinese as empty boxes, which the tests would miss: the font is part of it.
#
# Environment: PINGAN_CHROMIUM (a browser of your own: nothing is installed), PYTHON (the workspace interpreter,
# default .venv/bin/python, for the Playwright route). Exits non-zero when nothing usable could be installed.
set -u

CHROMIUM=/usr/bin/chromium
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
PYTHON=${PYTHON:-.venv/bin/python}

say() { echo "install-browser: $*" >&2; }

if [ -n "${PINGAN_CHROMIUM:-}" ]; then
  [ -x "$PINGAN_CHROMIUM" ] && exit 0
  say "PINGAN_CHROMIUM=$PINGAN_CHROMIUM is not an executable file"
  exit 1
fi
if [ -x "$CHROMIUM" ] && [ -f "$FONT" ]; then
  exit 0
fi

# as_root CMD...: run as root (directly, or with sudo that asks no password); fails when neither is possible
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

apt_ready=no
if command -v apt-get >/dev/null 2>&1; then
  say "apt-get update (for chromium / fonts-wqy-microhei)"
  if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq; then
    apt_ready=yes
  else
    say "apt-get needs root or password-less sudo; not using it"
  fi
fi

if [ "$apt_ready" = yes ] && [ ! -f "$FONT" ]; then
  apt_install fonts-wqy-microhei || say "could not install fonts-wqy-microhei"
fi

if [ ! -x "$CHROMIUM" ]; then
  # Debian's chromium is a real .deb; Ubuntu's package of that name does not exist (chromium-browser is a snap)
  if [ "$apt_ready" = yes ] && apt-cache show chromium >/dev/null 2>&1 \
      && ! grep -qi '^ID=ubuntu' /etc/os-release 2>/dev/null; then
    apt_install chromium || say "could not install chromium with apt-get"
  fi
fi

if [ -x "$CHROMIUM" ]; then
  [ -f "$FONT" ] || say "warning: no CJK font ($FONT): Chinese will render as boxes and the browser tests fail"
  exit 0
fi

say "no $CHROMIUM: installing Playwright's Chromium build"
if ! "$PYTHON" -m playwright install chromium; then
  say "could not install a browser: install Chromium and set PINGAN_CHROMIUM=/path/to/chrome"
  exit 1
fi
[ -f "$FONT" ] || say "warning: no CJK font found at $FONT; install one (e.g. WenQuanYi Micro Hei, Noto Sans CJK)"
exit 0
