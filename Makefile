# The two commands of this repository (see README.md):
#   make demo   runs the demo (a desktop video call)
#   make test   installs what is missing, builds, and runs every test
# Both work on a fresh Debian 12 machine: missing system packages are installed with apt-get.

CARGO ?= cargo
ARGS ?=

# Debian packages the crates need to build and test: procps provides `kill` for the CLI test; libvpx-dev,
# cmake (bundled libopus) and nasm (OpenH264, mozjpeg assembly) serve the codecs; libclang-dev lets bindgen
# generate the V4L2 camera bindings; WebKitGTK, GTK and xdo the Dioxus desktop webview; Xvfb, xauth,
# ImageMagick and xdotool the demo's UI tests; nftables (a black-holed media port) and faketime (a client
# whose clock is off) the fault tests; coturn the TURN relay the ICE tests start on loopback.
# `make check-deps` keeps this list and SYS_CRATES in step.
APT_PACKAGES := build-essential pkg-config procps ca-certificates libvpx-dev cmake nasm libclang-dev \
	libasound2-dev libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libxdo-dev \
	xvfb xauth imagemagick xdotool nftables iproute2 faketime coturn

# Every crate of Cargo.lock that builds or links native code, with the Debian package it needs on Linux
# (`-` = nothing: pure Rust, bundled sources, or another platform only). A crate of that kind missing here
# fails `make check-deps`, so a new `-sys` dependency cannot land without its package.
SYS_CRATES := \
	alsa-sys=libasound2-dev atk-sys=libgtk-3-dev bindgen=libclang-dev cairo-sys-rs=libgtk-3-dev \
	cc=build-essential clang-sys=libclang-dev cmake=cmake env-libvpx-sys=libvpx-dev \
	gdk-pixbuf-sys=libgtk-3-dev gdk-sys=libgtk-3-dev gdkwayland-sys=libgtk-3-dev gdkx11-sys=libgtk-3-dev \
	gio-sys=libgtk-3-dev glib-sys=libgtk-3-dev gobject-sys=libgtk-3-dev gtk-sys=libgtk-3-dev \
	javascriptcore-rs-sys=libwebkit2gtk-4.1-dev soup3-sys=libwebkit2gtk-4.1-dev \
	webkit2gtk-sys=libwebkit2gtk-4.1-dev pango-sys=libgtk-3-dev libxdo-sys=libxdo-dev \
	libfuzzer-sys=build-essential mozjpeg-sys=nasm openh264-sys2=nasm opusic-sys=cmake \
	openssl-sys=libssl-dev pkg-config=pkg-config system-deps=pkg-config v4l2-sys-mit=libclang-dev \
	libappindicator-sys=- linux-raw-sys=- dirs-sys=- js-sys=- web-sys=- wasm-bindgen=- \
	serde-wasm-bindgen=- wit-bindgen=- sledgehammer_bindgen=- jni-sys=- ndk-sys=- oboe-sys=- \
	windows-sys=- webview2-com-sys=- core-foundation-sys=- core-media-sys=- core-video-sys=- \
	coreaudio-sys=- security-framework-sys=-

SDK_DIR := tests/sdk-compat

BROWSER_DIR := tests/browser

.PHONY: test demo demo-headless deps check-deps sdk-deps browser-deps lint doc check-toolchain package minimal-app

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

# No network: reads Cargo.lock and the two lists above.
check-deps:
	@APT_PACKAGES="$(APT_PACKAGES)" SYS_CRATES="$(SYS_CRATES)" sh tools/check-deps.sh Cargo.lock
	@APT_PACKAGES="$(APT_PACKAGES)" SYS_CRATES="$(SYS_CRATES)" sh tools/check-deps.sh examples/minimal-app/Cargo.lock

check-toolchain:
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (https://rustup.rs)"; exit 1; }

lint: check-deps deps check-toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The library crates' documentation builds without a warning (a broken link fails). The binaries' doc
# comments are their `--help` text, whose `[:DEVICE]`-style syntax is not rustdoc's.
doc: deps check-toolchain
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace --exclude otter-rtc-cli --exclude otter-demo --locked

test: lint doc sdk-deps browser-deps package minimal-app
	$(CARGO) build --workspace --all-targets --locked
	$(CARGO) test --workspace --locked

# Every publishable crate packaged in dependency order, as `cargo publish` would (no upload): a missing
# version, file or metadata field fails here rather than on release day.
# Cargo treats a registry crate of a given version as immutable: the verify step's local registry is
# unpacked under CARGO_HOME (a folder named `-HASH`) and built into the target folder, and both are reused
# for the same version even when our sources changed. So the verify build gets a target folder of its own,
# and our crates' unpacked sources and build products are removed from both before each run.
PACKAGE_TARGET = $${CARGO_TARGET_DIR:-$(CURDIR)/target}/package-verify
package: deps check-toolchain
	rm -rf "$${CARGO_HOME:-$$HOME/.cargo}"/registry/src/-*/otter-*
	rm -rf $(PACKAGE_TARGET)/debug/.fingerprint/otter-* $(PACKAGE_TARGET)/debug/build/otter-* \
		$(PACKAGE_TARGET)/debug/deps/libotter_* $(PACKAGE_TARGET)/debug/deps/otter_*
	CARGO_TARGET_DIR=$(PACKAGE_TARGET) $(CARGO) package --workspace --exclude otter-demo --locked --allow-dirty

# The README's ten-line app, built as a user's crate outside the workspace.
minimal-app: deps check-toolchain
	$(CARGO) build --locked --manifest-path examples/minimal-app/Cargo.toml

# The desktop demo (examples/demo): a join screen, then a video call. Empty server URL = a server inside the
# demo; `make demo ARGS='--bots 2'` adds two test-pattern participants. Release build: video wants it.
demo: check-deps deps check-toolchain
	$(CARGO) run --release --locked -p otter-demo -- $(ARGS)

# The same call without a screen: an embedded server and two participants who signal and leave.
demo-headless: check-deps deps check-toolchain
	$(CARGO) run --locked -p otter-rtc --example 00_headless_call -- $(ARGS)
