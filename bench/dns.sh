#!/usr/bin/env bash
# Joyride against dnsmasq, in one run, on this machine: throughput, loss, latency at a fixed rate, server CPU
# per answered query, and (with 100,000 records) RSS, time to first answer and, for Joyride, time from a hosts
# edit to the new answer. See bench/README.md for what each figure means and how far to trust it.
#
#   bash bench/dns.sh            # 3 interleaved rounds of 10 s runs (about 2.5 minutes)
#   bash bench/dns.sh --quick    # 1 round of 3 s runs: a smoke test
#
# Everything runs on 127.0.0.1; every load is bounded by dnsperf -l (and by timeout); every server started here
# is killed on exit.
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) fails the step that used it

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/out
WORK=$OUT/work

ROUNDS=3     # interleaved rounds; the table shows the median
DUR=10       # seconds per dnsperf run
WARM=2       # seconds of warm-up load before measuring
RATE=20000   # queries per second of the fixed-rate run
CLIENTS=4    # dnsperf -c, the same for every run
TIMEOUT=2    # dnsperf -t: an answer later than this counts as lost (and bounds the wait after -l)
MAX_OUTSTANDING=100 # dnsperf -q (queries in flight) for the maximum-throughput run: dnsperf's default
SMALL=10000  # records for the throughput and latency runs
LARGE=100000 # records for RSS, first answer and edit
QUERIES=100000 # lines in the query file (dnsperf cycles through it)
SERVERS=(joyride dnsmasq)
JOYRIDE_BIN=""

usage() {
	cat <<EOF
usage: bash bench/dns.sh [--quick] [--rounds N] [--duration S] [--only joyride|dnsmasq] [--outstanding N]
                     [--joyride-bin PATH]
  --quick           1 round of 3 s runs after 1 s warm-up (smoke test)
  --rounds N        interleaved rounds (default $ROUNDS)
  --duration S      seconds per dnsperf run (default $DUR)
  --only NAME       measure one server only (no ratios)
  --outstanding N   dnsperf -q for the maximum-throughput run (default $MAX_OUTSTANDING)
  --joyride-bin P   use this binary instead of building ./cmd/joyride
Results: the table on stdout and bench/out/dns-results.md; raw dnsperf output in bench/out/work/.
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) ROUNDS=1 DUR=3 WARM=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--only) SERVERS=("$2"); shift ;;
	--outstanding) MAX_OUTSTANDING=$2; shift ;;
	--joyride-bin) JOYRIDE_BIN=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
for s in "${SERVERS[@]}"; do
	case $s in joyride | dnsmasq) ;; *) echo "bench: unknown server $s" >&2; exit 2 ;; esac
done
for n in "$ROUNDS" "$DUR" "$MAX_OUTSTANDING"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: not a positive whole number: $n" >&2; exit 2; }
done
[ -z "$JOYRIDE_BIN" ] || [ -x "$JOYRIDE_BIN" ] || { echo "bench: not executable: $JOYRIDE_BIN" >&2; exit 2; }

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
has() { local s; for s in "${SERVERS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

# ---------------------------------------------------------------------------------------------------- tools
install_tools() {
	local need=()
	command -v dnsperf >/dev/null || need+=(dnsperf)
	# dnsmasq-base is the dnsmasq binary without the init script and system service of the dnsmasq package,
	# so installing it never starts a resolver on port 53.
	command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
	command -v taskset >/dev/null || need+=(util-linux)
	if [ ${#need[@]} -gt 0 ]; then
		[ "$(id -u)" = 0 ] || die "missing ${need[*]}: run as root or install them"
		log "installing ${need[*]}"
		# Belt and braces: forbid any service start while installing (removed again below).
		local guard=""
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			guard=/usr/sbin/policy-rc.d
			printf '#!/bin/sh\nexit 101\n' >"$guard"
			chmod +x "$guard"
		fi
		export DEBIAN_FRONTEND=noninteractive
		if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
			apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
			[ -z "$guard" ] || rm -f "$guard"
			die "apt-get install ${need[*]} failed"
		fi
		[ -z "$guard" ] || rm -f "$guard"
	fi
	# A system dnsmasq (from the full package, installed earlier by someone else) does not disturb the runs,
	# which use their own ports, but say so: it is not ours to stop.
	if grep -qs '^dnsmasq$' /proc/[0-9]*/comm 2>/dev/null && port_in_use 53; then
		log "warning: a dnsmasq not started by this script is running and port 53 is in use"
	fi
}

# --------------------------------------------------------------------------------------------------- ports
# port_in_use reports whether any TCP or UDP socket (v4 or v6) has local port $1, from /proc/net.
port_in_use() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'FNR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
		/proc/net/udp /proc/net/tcp /proc/net/udp6 /proc/net/tcp6 2>/dev/null
}

declare -A PORT=()
pick_ports() {
	local s p=$((20000 + RANDOM % 20000)) used=" "
	for s in "${SERVERS[@]}"; do
		while port_in_use "$p" || [[ $used == *" $p "* ]]; do p=$((p + 1)); done
		PORT[$s]=$p
		used+="$p "
		p=$((p + 1))
	done
}

# --------------------------------------------------------------------------------------------------- data
# addr N is the address of host-N: 10.(N>>16).(N>>8 & 255).(N & 255). Only data in answers: nothing is sent to it.
addr() { printf '10.%d.%d.%d' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }

gen_hosts() { # gen_hosts N FILE
	awk -v n="$1" 'BEGIN {
		print "# bench/dns.sh: " n " generated records"
		for (i = 0; i < n; i++)
			printf "10.%d.%d.%d host-%d.bench.test\n", int(i / 65536) % 256, int(i / 256) % 256, i % 256, i
	}' >"$2"
}

# gen_queries N LINES FILE: A queries, every tenth for a name missing from the zone (NXDOMAIN), the others for
# existing names spread over all N records by a fixed MINSTD sequence (exact in awk's doubles, so the file is
# the same on every machine and every awk).
gen_queries() {
	awk -v n="$1" -v q="$2" 'BEGIN {
		x = 20240601
		for (j = 0; j < q; j++) {
			x = (x * 48271) % 2147483647
			if (j % 10 == 9) printf "miss-%d.bench.test A\n", x % n
			else printf "host-%d.bench.test A\n", x % n
		}
	}' >"$3"
}

# ------------------------------------------------------------------------------------------------ servers
declare -A PID=()

cleanup() {
	local s
	for s in "${!PID[@]}"; do stop "$s"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# now_ns prints the wall clock in Unix nanoseconds without forking (dnsprobe counts from it).
now_ns() { local t=${EPOCHREALTIME/./}; printf '%s000' "$t"; }

# start SERVER DIR: starts SERVER on CPU 0 serving DIR/hosts; sets PID[SERVER] and T0 (launch instant).
start() {
	local s=$1 dir=$2 port=${PORT[$1]}
	T0=$(now_ns)
	case $s in
	joyride)
		JOYRIDE_DNS_ZONES=bench.test JOYRIDE_LOG_LEVEL=warn \
			taskset -c "$SERVER_CPU" "$JOYRIDE_BIN" run --profile hosts-only \
			--set dns.bind_address=127.0.0.1 --set dns.port="$port" --set hosts.directories="$dir" \
			>>"$WORK/joyride.log" 2>&1 &
		;;
	dnsmasq)
		# -C /dev/null: no /etc/dnsmasq.conf; --local: names under bench.test not in the file are NXDOMAIN,
		# never forwarded; -u root: dnsmasq-base has no dnsmasq user (Joyride runs as root here too).
		taskset -c "$SERVER_CPU" dnsmasq --keep-in-foreground -C /dev/null --no-resolv --no-hosts \
			--addn-hosts="$dir/hosts" --local=/bench.test/ --listen-address=127.0.0.1 --bind-interfaces \
			--port="$port" --user=root --pid-file= --log-facility=- \
			>>"$WORK/dnsmasq.log" 2>&1 &
		;;
	esac
	PID[$s]=$!
}

stop() { # stop SERVER: SIGTERM, then SIGKILL after 5 s
	local p=${PID[$1]:-} i
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null || true
	# Until it is a zombie (our child until waited for, so its PID cannot be reused meanwhile).
	for ((i = 0; i < 50; i++)); do
		[[ $(sed "s/^.*) //" "/proc/$p/stat" 2>/dev/null) == [!Z]* ]] || break
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	PID[$1]=""
}

# probe SERVER NAME ADDR SINCE_NS: milliseconds from SINCE_NS until SERVER answers NAME A with ADDR.
probe() {
	"$OUT/dnsprobe" -server "127.0.0.1:${PORT[$1]}" -name "$2" -want "$3" -since "$4" -timeout 30s ||
		die "$1 did not answer $2 A $3 (see $WORK/$1.log)"
}

# loopback_only SERVER: fails unless every socket the server listens on is on 127.0.0.1.
loopback_only() {
	local p=${PID[$1]} inodes bad
	inodes=$(find "/proc/$p/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | sort -u)
	[ -n "$inodes" ] || die "$1 has no sockets"
	# /proc/net lines: sl local rem st ... inode (field 10). 0100007F is 127.0.0.1.
	bad=$(awk -v list="$(echo "$inodes" | tr '\n' ' ')" '
		BEGIN { n = split(list, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
		FNR > 1 && ($10 in want) { split($2, la, ":"); if (la[1] != "0100007F") print FILENAME, $2 }
	' /proc/net/udp /proc/net/tcp /proc/net/udp6 /proc/net/tcp6)
	[ -z "$bad" ] || die "$1 listens beyond 127.0.0.1: $bad"
}

# cpu_ticks PID: the process's utime+stime (all threads, dead ones included) in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --------------------------------------------------------------------------------------------------- load
RESULTS=$WORK/results.tsv # server metric value, one line per measurement
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RESULTS"; }

# perf SERVER KIND FILE [dnsperf args...]: one bounded dnsperf run on CPU 1 against SERVER; prints the server's
# CPU ticks used during it.
perf() {
	local s=$1 out=$2 before after
	shift 2
	before=$(cpu_ticks "${PID[$s]}")
	timeout $((DUR + 30)) taskset -c "$LOAD_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$QFILE" \
		-c "$CLIENTS" -T 1 -t "$TIMEOUT" "$@" >"$out" 2>&1 || die "dnsperf against $s failed: $(tail -3 "$out")"
	after=$(cpu_ticks "${PID[$s]}")
	echo $((after - before))
}

# dnsperf_stat FILE LABEL: a number from dnsperf's summary ("Queries completed:  123 (..)" → 123).
dnsperf_stat() { awk -v l="$2" 'index($0, l ":") { sub(".*" l ":[ \t]*", ""); print $1 + 0; exit }' "$1"; }

# check_rcodes SERVER FILE: the answers must be the query mix's: about 90% NOERROR and 10% NXDOMAIN, nothing
# else, or the server is not doing the same work as its peer.
check_rcodes() {
	local line
	line=$(grep 'Response codes:' "$2" || true)
	echo "$line" | awk '{
		for (i = 3; i <= NF; i += 3) { gsub(/[(),%]/, "", $(i + 2)); pct[$i] = $(i + 2) + 0; if ($i != "NOERROR" && $i != "NXDOMAIN") bad = 1 }
		if (bad || pct["NXDOMAIN"] < 9 || pct["NXDOMAIN"] > 11) exit 1
	}' || die "$1 answered an unexpected mix: ${line:-no responses} ($2)"
}

# max_run SERVER ROUND: unthrottled (MAX_OUTSTANDING in flight per dnsperf) → QPS, lost, CPU per answer.
max_run() {
	local s=$1 f=$WORK/$1-max-$2.txt ticks answered
	ticks=$(perf "$s" "$f" -l "$DUR" -q "$MAX_OUTSTANDING")
	check_rcodes "$s" "$f"
	answered=$(dnsperf_stat "$f" "Queries completed")
	record "$s" qps "$(dnsperf_stat "$f" "Queries per second" | awk "{ printf \"%.0f\", \$1 }")"
	record "$s" lost_max "$(dnsperf_stat "$f" "Queries lost")"
	record "$s" cpu_max "$(awk -v t="$ticks" -v hz="$HZ" -v n="$answered" 'BEGIN { printf "%.2f", n ? t / hz * 1e6 / n : 0 }')"
}

# rate_run SERVER ROUND: RATE queries per second with per-query output (-v) → lost, p50, p99, CPU per answer.
# Latency percentiles come from dnsperf's "> RCODE NAME TYPE SECONDS" lines (dnsperf 2.10 has no histogram
# option); lost queries have no latency and are counted separately.
rate_run() {
	local s=$1 f=$WORK/$1-rate-$2.txt ticks answered
	ticks=$(perf "$s" "$f" -l "$DUR" -Q "$RATE" -v)
	check_rcodes "$s" "$f"
	answered=$(dnsperf_stat "$f" "Queries completed")
	record "$s" lost_rate "$(dnsperf_stat "$f" "Queries lost")"
	record "$s" cpu_rate "$(awk -v t="$ticks" -v hz="$HZ" -v n="$answered" 'BEGIN { printf "%.2f", n ? t / hz * 1e6 / n : 0 }')"
	awk '/^> / && $2 != "T" && NF == 5 { print $5 * 1000 }' "$f" | sort -g | awk '
		{ v[NR] = $1 }
		END { if (NR == 0) exit 1; printf "%.3f %.3f\n", v[int((NR - 1) * 0.50) + 1], v[int((NR - 1) * 0.99) + 1] }
	' >"$f.pct" || die "no latencies in $f"
	record "$s" p50 "$(cut -d' ' -f1 "$f.pct")"
	record "$s" p99 "$(cut -d' ' -f2 "$f.pct")"
	# The per-query lines are large and summarised now; keep the summary.
	grep -v '^> ' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}

warm() { # warm SERVER: unrecorded load so both servers are measured warm
	perf "$1" "$WORK/$1-warmup.txt" -l "$WARM" -Q "$RATE" >/dev/null
}

# ------------------------------------------------------------------------------------------------ results
median() { # median SERVER METRIC
	awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' "$RESULTS" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# rounds SERVER METRIC: every round's value in run order, so the spread behind a median is visible.
rounds() {
	awk -F'\t' -v s="$1" -v m="$2" '$1 == s && $2 == m { printf "%s%s", sep, $3; sep = " · " } END { if (sep == "") printf "—" }' "$RESULTS"
}

table() {
	local metrics=(qps lost_max cpu_max lost_rate p50 p99 cpu_rate rss first edit)
	declare -A label=(
		[qps]="max QPS"
		[lost_max]="lost queries, max run"
		[cpu_max]="server CPU µs/answer, max run"
		[lost_rate]="lost queries at $RATE QPS"
		[p50]="p50 latency at $RATE QPS (ms)"
		[p99]="p99 latency at $RATE QPS (ms)"
		[cpu_rate]="server CPU µs/answer at $RATE QPS"
		[rss]="RSS with $LARGE records (MiB)"
		[first]="start to first answer, $LARGE records (ms)"
		[edit]="hosts edit to new answer, $LARGE lines (ms)"
	)
	printf '| %s | joyride | dnsmasq | joyride/dnsmasq | joyride rounds | dnsmasq rounds |\n|---|---:|---:|---:|---|---|\n' \
		"median of $ROUNDS round(s)"
	local m j d r
	for m in "${metrics[@]}"; do
		j=$(median joyride "$m")
		d=$(median dnsmasq "$m")
		r=$(awk -v j="$j" -v d="$d" 'BEGIN { if (j == "" || d == "" || d + 0 == 0) print "—"; else printf "%.2f", j / d }')
		printf '| %s | %s | %s | %s | %s | %s |\n' "${label[$m]}" "${j:-—}" "${d:-—}" "$r" \
			"$(rounds joyride "$m")" "$(rounds dnsmasq "$m")"
	done
}

machine() {
	cat <<EOF
- date: $(date -u '+%Y-%m-%d %H:%M UTC')
- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r), load average at start $LOAD_AT_START
- $(go version 2>/dev/null || echo "go: not found"); joyride $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
- $(dnsmasq --version | head -1 | sed 's/  Copyright.*//'); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')
- settings: $ROUNDS interleaved round(s), ${DUR} s per run after ${WARM} s warm-up, dnsperf -c $CLIENTS -T 1 -t $TIMEOUT,
  max run -q $MAX_OUTSTANDING, fixed-rate run -Q $RATE; server on CPU $SERVER_CPU, dnsperf on CPU $LOAD_CPU;
  $SMALL records, query mix 90% existing / 10% missing names (A); RSS, first answer and edit with $LARGE records
EOF
}

# ------------------------------------------------------------------------------------------------------ run
main() {
	local begin=$SECONDS
	install_tools
	command -v go >/dev/null || die "go is needed to build joyride and dnsprobe"
	mkdir -p "$OUT"
	rm -rf "$WORK"
	mkdir -p "$WORK/small" "$WORK/large"
	: >"$RESULTS"
	HZ=$(getconf CLK_TCK)
	LOAD_AT_START=$(cut -d" " -f1-3 /proc/loadavg)
	SERVER_CPU=0 LOAD_CPU=1
	if [ "$(nproc)" -lt 2 ]; then
		log "warning: one CPU: server and dnsperf share it"
		LOAD_CPU=0
	fi

	log "building bench/out/dnsprobe and, unless given, bench/out/joyride"
	go build -o "$OUT/dnsprobe" ./bench/dnsprobe
	if has joyride && [ -z "$JOYRIDE_BIN" ]; then
		# Built as task build and the image build it (static, no cgo), so that what is measured is what ships.
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/joyride" ./cmd/joyride ||
			die "joyride does not build (try --only dnsmasq)"
		JOYRIDE_BIN=$OUT/joyride
	fi

	gen_hosts "$SMALL" "$WORK/small/hosts"
	gen_hosts "$LARGE" "$WORK/large.hosts"
	QFILE=$WORK/queries.txt
	gen_queries "$SMALL" "$QUERIES" "$QFILE"
	pick_ports
	local s r
	for s in "${SERVERS[@]}"; do log "$s on 127.0.0.1:${PORT[$s]}"; done

	# Throughput and latency: both servers up at once (the idle one costs nothing), runs interleaved.
	for s in "${SERVERS[@]}"; do
		start "$s" "$WORK/small"
		probe "$s" "host-$((SMALL - 1)).bench.test" "$(addr $((SMALL - 1)))" "$T0" >/dev/null
		loopback_only "$s"
		warm "$s"
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in "${SERVERS[@]}"; do log "round $r/$ROUNDS: $s, max throughput"; max_run "$s" "$r"; done
		for s in "${SERVERS[@]}"; do log "round $r/$ROUNDS: $s, $RATE QPS"; rate_run "$s" "$r"; done
	done
	for s in "${SERVERS[@]}"; do stop "$s"; done

	# Memory, start-up and reload with the large file: a fresh process per server and round.
	local last=$((LARGE - 1)) edited=$((LARGE - 10)) ms t
	for ((r = 1; r <= ROUNDS; r++)); do
		for s in "${SERVERS[@]}"; do
			cp "$WORK/large.hosts" "$WORK/large/hosts"
			log "round $r/$ROUNDS: $s with $LARGE records"
			start "$s" "$WORK/large"
			ms=$(probe "$s" "host-$last.bench.test" "$(addr "$last")" "$T0")
			record "$s" first "$ms"
			warm "$s"
			record "$s" rss "$(awk -v k="$(rss_kib "${PID[$s]}")" 'BEGIN { printf "%.1f", k / 1024 }')"
			if [ "$s" = joyride ]; then
				# An editor's save: write a temporary file beside it (dotfiles are ignored), rename over it.
				awk -v n="host-$edited.bench.test" '$2 == n { $1 = "10.255.255.254" } { print }' \
					"$WORK/large.hosts" >"$WORK/large/.hosts.tmp"
				t=$(now_ns)
				mv "$WORK/large/.hosts.tmp" "$WORK/large/hosts"
				ms=$(probe "$s" "host-$edited.bench.test" 10.255.255.254 "$t")
				record "$s" edit "$ms"
			fi
			stop "$s"
		done
	done

	local md=$OUT/dns-results.md
	{
		echo "# DNS benchmark: Joyride against dnsmasq"
		echo
		machine
		echo
		table
	} >"$md"
	echo
	table
	echo
	machine
	echo
	log "done in $((SECONDS - begin)) s; Markdown in ${md#"$ROOT"/}, raw output in ${WORK#"$ROOT"/}"
}

main
