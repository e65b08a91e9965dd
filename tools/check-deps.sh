#!/bin/sh
# Fails when Cargo.lock holds a crate that builds or links native code and the Makefile does not know
# which Debian package it needs, or knows but does not install it. Run by `make check-deps`.
# Input: $APT_PACKAGES (what `make deps` installs) and $SYS_CRATES (crate=package pairs, `-` for none).
set -eu
lock=${1:-Cargo.lock}
status=0
# Crates that build or link native code: *-sys (and -sys2, -sys-rs, -sys-mit), bindgen, cc, cmake,
# pkg-config and system-deps.
crates=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$lock" | sort -u |
	grep -E -- '-sys([0-9]*|-rs|-mit)?$|^(bindgen|cc|cmake|pkg-config|system-deps|wasm-bindgen|wit-bindgen|sledgehammer_bindgen|serde-wasm-bindgen)$' || true)
for crate in $crates; do
	pkg=""
	for pair in $SYS_CRATES; do
		[ "${pair%%=*}" = "$crate" ] && pkg=${pair#*=}
	done
	if [ -z "$pkg" ]; then
		echo "check-deps: Cargo.lock has $crate, which builds native code, and SYS_CRATES in the Makefile does not say which Debian package it needs (add $crate=PACKAGE, or $crate=- if none on Linux)." >&2
		status=1
	elif [ "$pkg" != "-" ] && ! echo " $APT_PACKAGES " | tr -s ' \t' '  ' | grep -q -- " $pkg "; then
		echo "check-deps: $crate needs the Debian package $pkg, which APT_PACKAGES in the Makefile does not install: a fresh machine fails to build." >&2
		status=1
	fi
done
[ $status -eq 0 ] && echo "check-deps: $(echo "$crates" | wc -w) native-code crates in $lock, each with its Debian package installed by make deps"
exit $status
