# The two commands of this repository (see README.md):
#   make demo   runs the demo
#   make test   installs what is missing, builds, and runs every test
# Both work on a fresh Debian 12 machine: missing system packages are installed with apt-get.

CARGO ?= cargo
ARGS ?=

# Debian packages the current crates need to build and test (DESIGN.md §7 lists the full set the
# media and desktop milestones add). procps provides `kill` for the CLI test.
APT_PACKAGES := build-essential pkg-config procps ca-certificates

.PHONY: test demo deps lint check-toolchain

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

check-toolchain:
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust (https://rustup.rs)"; exit 1; }

lint: deps check-toolchain
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

test: lint
	$(CARGO) build --workspace --all-targets --locked
	$(CARGO) test --workspace --locked

demo: deps check-toolchain
	$(CARGO) run --locked --example 00_headless_call -- $(ARGS)
