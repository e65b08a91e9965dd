# The two commands of this repository (see README.md):
#   make demo   runs the demo (a desktop video call)
#   make test   installs what is missing, builds, and runs every test
# Both work on a fresh Debian 12 machine: missing system packages are installed with apt-get.

CARGO ?= cargo
ARGS ?=

# Debian packages the crates need to build and test (DESIGN.md §7): procps provides `kill` for the CLI
# test; libvpx-dev, cmake (bundled libopus) and nasm (OpenH264 assembly) serve the codecs; WebKitGTK, GTK
# and xdo the Dioxus desktop webview; Xvfb, xauth, ImageMagick and xdotool the demo's UI tests.
APT_PACKAGES := build-essential pkg-config procps ca-certificates libvpx-dev cmake nasm \
	libasound2-dev libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libxdo-dev \
	xvfb xauth imagemagick xdotool

SDK_DIR := tests/sdk-compat

BROWSER_DIR := tests/browser

.PHONY: test demo demo-headless deps sdk-deps browser-deps lint check-toolchain

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The official OpenTok server SDKs (Node and Python) for the compatibility tests. Node, npm and Python's
# venv come from Debian when the machine has none of its own.
sdk-deps: $(SDK_DIR)/node_modules/.installed $(SDK_DIR)/.venv/.installed

$(SDK_DIR)/node_modules/.installed: $(SDK_DIR)/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm; }
	cd $(SDK_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium (a WebRTC stack we did not write) and playwright-core to drive it, for the interop tests.
browser-deps: $(BROWSER_DIR)/node_modules/.installed

$(BROWSER_DIR)/node_modules/.installed: $(BROWSER_DIR)/package-lock.json $(SDK_DIR)/node_modules/.installed
	@[ -x /usr/bin/chromium ] || { \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(SDK_DIR)/.venv/.installed: $(SDK_DIR)/requirements.txt
	@python3 -c 'import ensurepip, venv' 2>/dev/null || { \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3 python3-venv; }
	rm -rf $(SDK_DIR)/.venv
	python3 -m venv $(SDK_DIR)/.venv
	$(SDK_DIR)/.venv/bin/pip install --quiet --disable-pip-version-check -r $(SDK_DIR)/requirements.txt
	touch $@

check-toolchain:
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (https://rustup.rs)"; exit 1; }

lint: deps check-toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test: lint sdk-deps browser-deps
	$(CARGO) build --workspace --all-targets --locked
	$(CARGO) test --workspace --locked

# The desktop demo (examples/demo): a join screen, then a video call. Empty server URL = a server inside the
# demo; `make demo ARGS='--bots 2'` adds two test-pattern participants. Release build: video wants it.
demo: deps check-toolchain
	$(CARGO) run --release --locked -p otter-demo -- $(ARGS)

# The same call without a screen: an embedded server and two participants who signal and leave.
demo-headless: deps check-toolchain
	$(CARGO) run --locked --example 00_headless_call -- $(ARGS)
