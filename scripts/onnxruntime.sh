#!/usr/bin/env bash
# Prints the absolute path of libonnxruntime.so.1 of ONNX Runtime 1.24.1 on
# stdout (one line, nothing else) and exits 0. Progress goes to stderr.
#
# Sources, in order:
#   1. $TAILOR_ONNXRUNTIME_LIB, when set (an error if the file is missing);
#   2. the cache outside git,
#      ${XDG_CACHE_HOME:-$HOME/.cache}/tailor/onnxruntime-1.24.1/libonnxruntime.so.1,
#      when its sha256 matches;
#   3. the onnxruntime-node 1.24.1 npm package, fetched with `npm pack` (no
#      install, no scripts), from which only the linux/x64 library is taken,
#      checked against the sha256 below and moved into the cache.
#
# Sources 2 and 3 exist for linux/x64 only; elsewhere set TAILOR_ONNXRUNTIME_LIB.
#
# Usage: TAILOR_ONNXRUNTIME_LIB=$(bash scripts/onnxruntime.sh) go test ./...
set -euo pipefail

readonly ORT_VERSION="1.24.1"
readonly LIB_NAME="libonnxruntime.so.1"
readonly LIB_SHA256="53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4"
readonly NPM_SPEC="onnxruntime-node@${ORT_VERSION}"
readonly TAR_MEMBER="package/bin/napi-v6/linux/x64/${LIB_NAME}"

log() {
	printf 'onnxruntime.sh: %s\n' "$*" >&2
}

die() {
	log "$*"
	log "set TAILOR_ONNXRUNTIME_LIB=/path/to/${LIB_NAME} of ONNX Runtime ${ORT_VERSION}"
	exit 1
}

# absolute PATH prints PATH made absolute against the working directory.
absolute() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "${PWD}" "$1" ;;
	esac
}

# 1. An explicit path wins, and is never second-guessed.
if [[ -n "${TAILOR_ONNXRUNTIME_LIB:-}" ]]; then
	if [[ ! -f "${TAILOR_ONNXRUNTIME_LIB}" ]]; then
		die "TAILOR_ONNXRUNTIME_LIB=${TAILOR_ONNXRUNTIME_LIB}: no such file"
	fi
	absolute "${TAILOR_ONNXRUNTIME_LIB}"
	exit 0
fi

os=$(uname -s)
arch=$(uname -m)
if [[ "${os}" != "Linux" || "${arch}" != "x86_64" ]]; then
	die "this script fetches ONNX Runtime for linux/x64 only (this is ${os}/${arch})"
fi

if [[ -z "${XDG_CACHE_HOME:-}" && -z "${HOME:-}" ]]; then
	die "neither XDG_CACHE_HOME nor HOME is set, so there is no cache directory"
fi
cache_dir="${XDG_CACHE_HOME:-${HOME}/.cache}/tailor/onnxruntime-${ORT_VERSION}"
cache_dir=$(absolute "${cache_dir}")
cached="${cache_dir}/${LIB_NAME}"

# 2. The cache, trusted only when its checksum matches.
if [[ -f "${cached}" ]]; then
	sum=$(sha256sum -- "${cached}") || sum=""
	if [[ "${sum%% *}" == "${LIB_SHA256}" ]]; then
		printf '%s\n' "${cached}"
		exit 0
	fi
	log "${cached} has the wrong sha256; fetching it again"
fi

# 3. Fetch the npm package and take the library out of it.
if ! command -v npm >/dev/null 2>&1; then
	die "npm is not installed, so ONNX Runtime ${ORT_VERSION} cannot be fetched"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tailor-onnxruntime.XXXXXX")
staged=""
cleanup() {
	rm -rf -- "${tmp}"
	if [[ -n "${staged}" ]]; then
		rm -f -- "${staged}"
	fi
}
trap cleanup EXIT

log "fetching ${NPM_SPEC} with npm pack (about 86 MB)..."
if ! (cd "${tmp}" && npm pack --loglevel=error --ignore-scripts "${NPM_SPEC}" >&2); then
	die "npm pack ${NPM_SPEC} failed"
fi
tarballs=("${tmp}"/onnxruntime-node-*.tgz)
if [[ ! -f "${tarballs[0]}" ]]; then
	die "npm pack ${NPM_SPEC} produced no tarball"
fi
if ! tar -xzf "${tarballs[0]}" -C "${tmp}" "${TAR_MEMBER}"; then
	die "${TAR_MEMBER} is missing from the ${NPM_SPEC} tarball"
fi
got=$(sha256sum -- "${tmp}/${TAR_MEMBER}") || die "cannot compute the sha256 of ${TAR_MEMBER}"
got=${got%% *}
if [[ "${got}" != "${LIB_SHA256}" ]]; then
	die "checksum mismatch for ${TAR_MEMBER}: got ${got}, want ${LIB_SHA256}"
fi

# Stage inside the cache directory so the final rename is atomic.
mkdir -p -- "${cache_dir}"
staged=$(mktemp "${cache_dir}/.${LIB_NAME}.XXXXXX")
cp -- "${tmp}/${TAR_MEMBER}" "${staged}"
chmod 0644 -- "${staged}"
mv -f -- "${staged}" "${cached}"
staged=""
log "cached ${cached}"
printf '%s\n' "${cached}"
