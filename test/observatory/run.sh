#!/usr/bin/env bash
# Grades the API's HTTPS with Mozilla's HTTP Observatory
# (@mdn/mdn-http-observatory, pinned below), offline, against localhost.
#
#   test/observatory/run.sh [SERVER [ARGS...]]
#
# Starts SERVER (default bin/api; ARGS default to "serve") with a throwaway
# CA-signed certificate for localhost/127.0.0.1 on 127.0.0.1:443 and the
# redirect to HTTPS on 127.0.0.1:80 (the Observatory scans only
# https://HOST/ and http://HOST/, so it needs those ports: run as root),
# waits for https://localhost/health/live, scans localhost with the CA
# trusted for the scan only, prints the grade, the score and every test,
# then stops the server and removes the temporary files.
#
# Environment:
#   OBSERVATORY_TARGET    scan this host (e.g. localhost) instead of starting
#                         a server; it must answer on 443 (and 80 for the
#                         redirection test)
#   OBSERVATORY_CA_FILE   with OBSERVATORY_TARGET: PEM CA(s) to trust for the
#                         scan (without one, only the system's CAs are)
#   OBSERVATORY_PATH      scan this path instead of / (e.g. /health/live to
#                         grade a JSON response rather than the docs page
#                         / redirects to); the scanner takes a hostname only,
#                         and puts it in a URL, so a path rides along
#   OBSERVATORY_JSON      also write the scanner's raw JSON result here
#   OBSERVATORY_MIN_SCORE exit 1 when the score is below this
#   OBSERVATORY_WAIT      seconds to wait for the server to be live (60)
set -euo pipefail

OBSERVATORY_VERSION=1.4.8
PKG_NAME=@mdn/mdn-http-observatory

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tools=$root/.tools/observatory
pkg=$tools/node_modules/$PKG_NAME

die() { echo "observatory: $*" >&2; exit 1; }

for tool in node npm openssl; do
	command -v "$tool" >/dev/null || die "$tool is required"
done

# --- install the scanner, pinned ------------------------------------------
installed=$(node -p "require('$pkg/package.json').version" 2>/dev/null || true)
if [[ $installed != "$OBSERVATORY_VERSION" ]]; then
	echo "observatory: installing $PKG_NAME@$OBSERVATORY_VERSION into ${tools#"$root"/}" >&2
	mkdir -p "$tools"
	# --ignore-scripts: the package's postinstall downloads Chromium's HSTS
	# preload list and IANA's TLD list, and a dependency's downloads a CA
	# bundle; none of that is reachable offline, and a scan of localhost
	# needs none of it (the TLD list is for the hosted API only).
	npm install --prefix "$tools" --ignore-scripts --no-audit --no-fund \
		--save-exact --loglevel=error "$PKG_NAME@$OBSERVATORY_VERSION" >&2
fi
# The preload list the postinstall would have fetched: empty, which is
# what it holds for localhost anyway (a public list has no local names).
[[ -f $pkg/conf/hsts-preload.json ]] || echo '{}' >"$pkg/conf/hsts-preload.json"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/observatory.XXXXXX")
server_pid=
cleanup() {
	local rc=$?
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Node for the scan: only the CA given, no proxy for localhost, none of
# the caller's configuration file for the scanner.
scan_node() {
	env -u CONFIG_FILE -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
		-u all_proxy -u ALL_PROXY NODE_EXTRA_CA_CERTS="$ca" node "$@"
}

if [[ -n ${OBSERVATORY_TARGET:-} ]]; then
	host=$OBSERVATORY_TARGET
	ca=${OBSERVATORY_CA_FILE:-}
	[[ -z $ca || -r $ca ]] || die "OBSERVATORY_CA_FILE $ca is not readable"
else
	host=localhost
	server=${1:-bin/api}
	[[ $# -gt 0 ]] && shift
	args=("$@")
	[[ ${#args[@]} -gt 0 ]] || args=(serve)
	if [[ $server != */* ]]; then
		server=$(command -v "$server") || die "no such command: $server"
	fi
	[[ $server = /* ]] || server=$root/$server
	[[ -x $server ]] || die "$server is not an executable (build it with make build)"

	# --- a throwaway CA and a certificate for localhost it signs ---------
	ca=$tmp/ca.crt
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$tmp/ca.key" -out "$ca" -days 2 -subj "/CN=Observatory run CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$tmp/server.key" -out "$tmp/server.csr" -subj "/CN=localhost" 2>/dev/null
	cat >"$tmp/server.ext" <<-EOF
		basicConstraints=critical,CA:FALSE
		keyUsage=critical,digitalSignature
		extendedKeyUsage=serverAuth
		subjectAltName=DNS:localhost,IP:127.0.0.1
	EOF
	openssl x509 -req -in "$tmp/server.csr" -CA "$ca" -CAkey "$tmp/ca.key" \
		-CAcreateserial -days 2 -extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>/dev/null

	# --- the server ------------------------------------------------------
	echo "observatory: starting $server ${args[*]} (HTTPS 127.0.0.1:443, redirect 127.0.0.1:80)" >&2
	HTTP_ADDR=127.0.0.1:443 \
		HTTP_REDIRECT_ADDR=127.0.0.1:80 \
		HTTP_TLS_CERT_FILE=$tmp/server.crt \
		HTTP_TLS_KEY_FILE=$tmp/server.key \
		APP_ENV=development \
		DATABASE_URL=sqlite://$tmp/api.db \
		"$server" "${args[@]}" >"$tmp/server.log" 2>&1 &
	server_pid=$!

	# Live over HTTPS with the CA trusted, as the scan will see it.
	deadline=$((SECONDS + ${OBSERVATORY_WAIT:-60}))
	until scan_node -e '
		require("https").get("https://localhost/health/live", (r) => process.exit(r.statusCode === 200 ? 0 : 1))
			.on("error", () => process.exit(1));' 2>/dev/null; do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			cat "$tmp/server.log" >&2
			die "the server exited before it was live (ports 80 and 443 need root and must be free)"
		fi
		if ((SECONDS >= deadline)); then
			cat "$tmp/server.log" >&2
			die "https://localhost/health/live was not 200 within ${OBSERVATORY_WAIT:-60}s"
		fi
		sleep 0.2
	done
fi

# --- the scan --------------------------------------------------------------
path=${OBSERVATORY_PATH:-}
[[ -z $path || $path = /* ]] || die "OBSERVATORY_PATH must start with /"
host=$host$path
# src/scan.js, not the package's bin wrapper: the wrapper overwrites
# NODE_EXTRA_CA_CERTS with its own bundle, so our CA would not be trusted.
echo "observatory: scanning $host" >&2
if ! scan_node "$pkg/src/scan.js" "$host" >"$tmp/result.json"; then
	cat "$tmp/result.json" >&2
	die "the scan failed"
fi
[[ -z ${OBSERVATORY_JSON:-} ]] || cp "$tmp/result.json" "$OBSERVATORY_JSON"

RESULT=$tmp/result.json PKG=$pkg HOST=$host MIN_SCORE=${OBSERVATORY_MIN_SCORE:-} \
	VERSION=$OBSERVATORY_VERSION node --input-type=module -e '
const fs = await import("node:fs");
const { SCORE_TABLE } = await import(process.env.PKG + "/src/grader/charts.js");
const { scan, tests } = JSON.parse(fs.readFileSync(process.env.RESULT, "utf8"));
const text = (html) => (html || "").replace(/<[^>]*>/g, "").replace(/\s+/g, " ").trim();

console.log(`MDN HTTP Observatory ${process.env.VERSION} (algorithm ${scan.algorithmVersion}): ${process.env.HOST}`);
console.log(`Grade: ${scan.grade}  Score: ${scan.score}  Tests passed: ${scan.testsPassed}/${scan.testsQuantity}  Status: ${scan.statusCode}`);
console.log("");
const width = Math.max(...Object.keys(tests).map((k) => k.length));
for (const [name, t] of Object.entries(tests)) {
  const mod = t.scoreModifier > 0 ? `+${t.scoreModifier}` : `${t.scoreModifier}`;
  console.log(`${t.pass ? "PASS" : "FAIL"} ${mod.padStart(4)}  ${name.padEnd(width)}  ${t.result}`);
  const entry = SCORE_TABLE.get(t.result);
  if (entry && (!t.pass || t.scoreModifier < 0)) {
    console.log(`${" ".repeat(11)}${text(entry.description)}`);
    if (text(entry.recommendation)) console.log(`${" ".repeat(11)}fix: ${text(entry.recommendation)}`);
  }
}

let rc = 0;
const unverified = Object.values(tests).filter((t) => /invalid-cert$/.test(t.result ?? ""));
if (unverified.length) {
  console.error(`\nobservatory: the certificate was not trusted (${unverified.map((t) => t.result).join(", ")}); set OBSERVATORY_CA_FILE`);
  rc = 1;
}
const min = process.env.MIN_SCORE;
if (min !== "" && scan.score < Number(min)) {
  console.error(`\nobservatory: score ${scan.score} is below OBSERVATORY_MIN_SCORE ${min}`);
  rc = 1;
}
process.exit(rc);
'
