# vip-config.bash: what vip-up, vip-down and vip-lease share: reading and checking CONFIG_JSON and
# an ITEM, without starting node (a node start took about 150 ms of every vip-up, before the
# address was added). Sourced by those scripts from the directory they are in; not a program.
#
# One awk process reads the JSON: it checks the whole text against the JSON grammar and hands the
# top-level keys the scripts use to bash, which checks them as before, with the same messages.
#
# Needs: bash 4.3+, awk (mawk or gawk). The caller defines PROG and die().

# Whether $1 is an IPv4 address in dotted decimal without leading zeros (what `ip` prints, and what
# node's net.isIP accepts).
ipv4_ok() {
  [[ $1 =~ ^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$ ]] &&
    ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255 && BASH_REMATCH[4] <= 255))
}

# Sets CANON6 to IPv6 address $1 spelled the way `ip` prints it (inet_ntop: lowercase hex without
# leading zeros, the longest run of two or more zero groups, the first of equals, written "::", and
# the IPv4 forms ::a.b.c.d and ::ffff:a.b.c.d in dotted decimal). Returns 1 when $1 is not an IPv6
# address. Pure bash: no process is started.
canon6() {
  local a=${1,,} v4 left right i n
  local -a words=() head=() tail=() octets=()
  CANON6=''
  [[ $a =~ ^[0-9a-f:.]{2,45}$ && $a == *:*:* && $a != *:::* ]] || return 1
  if [[ $a == *.* ]]; then
    v4=${a##*:}
    ipv4_ok "$v4" || return 1
    IFS=. read -r -a octets <<<"$v4"
    printf -v v4 '%x:%x' $((octets[0] * 256 + octets[1])) $((octets[2] * 256 + octets[3]))
    a=${a%:*}:$v4
  fi
  if [[ $a == *::* ]]; then
    left=${a%%::*}
    right=${a#*::}
    [[ $right != *::* ]] || return 1
  else
    left=$a
    right=''
  fi
  [[ $left != :* && $right != *: && ($a == *::* || ($a != :* && $a != *:)) ]] || return 1
  IFS=: read -r -a head <<<"$left"
  IFS=: read -r -a tail <<<"$right"
  n=$((${#head[@]} + ${#tail[@]}))
  if [[ $a == *::* ]]; then ((n <= 7)) || return 1; else ((n == 8)) || return 1; fi
  for i in "${head[@]}" "${tail[@]}"; do [[ $i =~ ^[0-9a-f]{1,4}$ ]] || return 1; done
  for i in "${head[@]}"; do words+=($((16#$i))); done
  for ((i = n; i < 8; i++)); do words+=(0); done
  for i in "${tail[@]}"; do words+=($((16#$i))); done
  # The longest run of zero words (the first of equal ones), if it is at least two long.
  local best=-1 best_len=0 cur=-1 cur_len=0
  for ((i = 0; i <= 8; i++)); do
    if ((i < 8 && words[i] == 0)); then
      if ((cur == -1)); then cur=$i cur_len=1; else cur_len=$((cur_len + 1)); fi
    elif ((cur != -1)); then
      if ((best == -1 || cur_len > best_len)); then best=$cur best_len=$cur_len; fi
      cur=-1
    fi
  done
  if ((best_len < 2)); then best=-1; fi
  local out='' hex
  for ((i = 0; i < 8; i++)); do
    if ((best != -1 && i >= best && i < best + best_len)); then
      if ((i == best)); then out+=':'; fi
      continue
    fi
    if ((i != 0)); then out+=':'; fi
    if ((i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)))); then
      out+="$((words[6] >> 8)).$((words[6] & 255)).$((words[7] >> 8)).$((words[7] & 255))"
      break
    fi
    printf -v hex '%x' "${words[i]}"
    out+=$hex
  done
  if ((best != -1 && best + best_len == 8)); then out+=':'; fi
  CANON6=$out
}

# Sets QUOTED to $1 as a JSON string (as JSON.stringify writes it), for messages.
json_quote() {
  local s=$1 i c
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\b'/\\b}
  s=${s//$'\f'/\\f}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  if [[ $s == *[$'\001'-$'\037']* ]]; then
    for ((i = 1; i < 32; i++)); do
      printf -v c "\\$(printf '%03o' "$i")"
      s=${s//"$c"/$(printf '\\u%04x' "$i")}
    done
  fi
  QUOTED=\"$s\"
}

# Sets ITEM_FAMILY (4 or 6) and ITEM_CANONICAL (as `ip` prints it) for ITEM $1, or dies with exit 2
# when it is not an IP address (a zone index, "fe80::1%eth0", is not one here).
check_item() {
  ITEM_FAMILY='' ITEM_CANONICAL=''
  if ipv4_ok "$1"; then
    ITEM_FAMILY=4 ITEM_CANONICAL=$1
  elif canon6 "$1"; then
    ITEM_FAMILY=6 ITEM_CANONICAL=$CANON6
  else
    json_quote "$1"
    die 2 "not an IP address: $QUOTED"
  fi
}

# The JSON reader. Input: the text in ENVIRON["VIP_JSON"] (no escape processing, unlike -v), the
# wanted top-level keys in ENVIRON["VIP_KEYS"] (space-separated). Output: on success, for each
# wanted key present (the last occurrence wins, as in JSON.parse), one line of four fields separated
# by \037: the key, its type, its value and its JSON text (cut to 80 characters, whitespace runs
# made one space). Types: s a string of printable ASCII (value: the string decoded), S any other
# string (value empty), n a number (value: the integer it equals, or "x" when it is no integer or
# too large), l null, b true or false, o an object or an array. Then "end". On invalid JSON: "error
# MESSAGE" and exit status 2. Iterative (a stack, no recursion), so deep nesting costs no stack;
# nesting is limited to 512.
# shellcheck disable=SC2016 # awk's program, not the shell's
readonly VIP_JSON_READER='
function fail(message) { printf "error %s\n", message; failed = 1; exit 2 }
function where() { return (i > n) ? "at the end" : sprintf("at position %d", i - 1) }
function unexpected(   c) {
  if (i > n) fail("unexpected end of input")
  c = substr(s, i, 1)
  if (c ~ /[!-~]/) fail(sprintf("unexpected \"%s\" %s", c, where()))
  fail(sprintf("unexpected byte %d %s", ord[c], where()))
}
function ws(   c) {
  while (i <= n) {
    c = substr(s, i, 1)
    if (c == " " || c == "\t" || c == "\n" || c == "\r") i++
    else return
  }
}
function hexval(h,   k, v) {
  v = 0
  for (k = 1; k <= 4; k++) v = v * 16 + index("0123456789abcdef", tolower(substr(h, k, 1))) - 1
  return v
}
# Reads the string at i (a quote); sets STR (decoded, up to 64 characters) and STR_OK (1 when it is
# printable ASCII and at most 64 characters long).
function str(   c, e, v) {
  i++
  STR = ""
  STR_OK = 1
  for (;;) {
    if (i > n) fail("unterminated string")
    c = substr(s, i, 1)
    if (c == "\"") { i++; return }
    if (c == "\\") {
      e = substr(s, i + 1, 1)
      if (e == "u") {
        if (substr(s, i + 2, 4) !~ /^[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]$/) { i++; fail("bad \\u escape " where()) }
        v = hexval(substr(s, i + 2, 4))
        if (v >= 32 && v < 127) c = chr[v]
        else { c = ""; STR_OK = 0 }
        i += 6
      } else if (e == "\"" || e == "\\" || e == "/") {
        c = e
        i += 2
      } else if (e == "b" || e == "f" || e == "n" || e == "r" || e == "t") {
        c = ""
        STR_OK = 0
        i += 2
      } else {
        i++
        fail("bad escape in a string " where())
      }
    } else {
      if (c ~ /[\001-\037]/) fail("control character in a string " where())
      if (c !~ /[ -~]/) STR_OK = 0
      i++
    }
    if (length(STR) < 64) STR = STR c
    else STR_OK = 0
  }
}
function record(key, type, value, from,   raw) {
  if (!(key in wanted)) return
  raw = substr(s, from, i - from)
  gsub(/[ \t\r\n]+/, " ", raw)
  if (length(raw) > 80) raw = substr(raw, 1, 77) "..."
  T[key] = type
  V[key] = value
  R[key] = raw
}
BEGIN {
  for (k = 0; k < 256; k++) { ord[sprintf("%c", k)] = k; chr[k] = sprintf("%c", k) }
  nk = split(ENVIRON["VIP_KEYS"], keys, " ")
  for (k = 1; k <= nk; k++) wanted[keys[k]] = 1
  s = ENVIRON["VIP_JSON"]
  n = length(s)
  i = 1
  depth = 0
  mode = "value"
  top = ""
  for (;;) {
    ws()
    if (mode == "key") {
      if (substr(s, i, 1) != "\"") unexpected()
      str()
      if (depth == 1) key = STR_OK ? STR : ""
      ws()
      if (substr(s, i, 1) != ":") unexpected()
      i++
      mode = "value"
      continue
    }
    if (mode == "value") {
      c = substr(s, i, 1)
      from = i
      if (c == "{" || c == "[") {
        if (depth >= 512) fail("nested more than 512 deep")
        stack[++depth] = c
        start[depth] = i
        if (depth == 1) top = c
        i++
        ws()
        if (substr(s, i, 1) == (c == "{" ? "}" : "]")) { mode = "close"; continue }
        mode = (c == "{") ? "key" : "value"
        continue
      }
      if (c == "\"") {
        str()
        type = STR_OK ? "s" : "S"
        value = STR_OK ? STR : ""
      } else if (c == "-" || (c >= "0" && c <= "9")) {
        if (!match(substr(s, i, 400), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) unexpected()
        type = "n"
        raw = substr(s, i, RLENGTH)
        i += RLENGTH
        num = raw + 0
        value = (num == int(num) && num > -1e15 && num < 1e15) ? sprintf("%d", num) : "x"
      } else if (substr(s, i, 4) == "null") { type = "l"; value = ""; i += 4 }
      else if (substr(s, i, 4) == "true") { type = "b"; value = ""; i += 4 }
      else if (substr(s, i, 5) == "false") { type = "b"; value = ""; i += 5 }
      else unexpected()
      if (depth == 0) top = type
      else if (depth == 1 && stack[1] == "{") record(key, type, value, from)
      mode = "after"
      continue
    }
    if (mode == "after") {
      if (depth == 0) {
        if (i <= n) unexpected()
        break
      }
      c = substr(s, i, 1)
      if (c == ",") { i++; mode = (stack[depth] == "{") ? "key" : "value"; continue }
      if (c == (stack[depth] == "{" ? "}" : "]")) { mode = "close"; continue }
      unexpected()
    }
    if (mode == "close") {
      # At the bracket that closes the container on top of the stack.
      i++
      depth--
      if (depth == 1 && stack[1] == "{") record(key, "o", "", start[2])
      mode = "after"
      continue
    }
  }
  if (top != "{") { print "notobject"; exit 0 }
  for (k in T) printf "%s\037%s\037%s\037%s\n", k, T[k], V[k], R[k]
  print "end"
}
END { if (failed) exit 2 }
'

# Reads CONFIG_JSON $1 and sets CFG_TYPE, CFG_VALUE and CFG_RAW (associative arrays, by key) for the
# top-level keys named in $2; dies with exit 2 when it is not a JSON object.
read_config_json() {
  local out key type value raw
  command -v awk >/dev/null 2>&1 || die 1 "awk not found: it reads CONFIG_JSON (Debian package mawk)"
  out=$(VIP_JSON=$1 VIP_KEYS=$2 LC_ALL=C awk "$VIP_JSON_READER" </dev/null) || true
  case $out in
  'error '*) die 2 "CONFIG_JSON is not valid JSON: ${out#error }" ;;
  notobject) die 2 "CONFIG_JSON must be a JSON object" ;;
  *end) ;;
  *) die 1 "internal error: the JSON reader (awk) failed" ;;
  esac
  declare -gA CFG_TYPE=() CFG_VALUE=() CFG_RAW=()
  while IFS=$'\037' read -r key type value raw; do
    [[ $key == end ]] && break
    CFG_TYPE[$key]=$type
    CFG_VALUE[$key]=$value
    CFG_RAW[$key]=$raw
  done <<<"$out"
}

# Whether config key $1 is absent or null (node's `value === undefined || value === null`).
cfg_unset() { [[ ! -v CFG_TYPE[$1] || ${CFG_TYPE[$1]} == l ]]; }

# Sets CFG_INT to config key $1 as an integer from $3 to $4, or to $2 when it is absent or null.
# A string of digits counts as its number. Dies with exit 2 otherwise.
cfg_int() {
  local key=$1 type=${CFG_TYPE[$1]-} value=${CFG_VALUE[$1]-} digits
  if cfg_unset "$key"; then
    CFG_INT=$2
    return 0
  fi
  if [[ $type == s && $value =~ ^[0-9]+$ ]]; then
    digits=${value#"${value%%[!0]*}"}
    if ((${#digits} > 15)); then value=x; else value=$((10#${digits:-0})); fi
  elif [[ $type != n ]]; then
    value=x
  fi
  if [[ $value == x ]] || ((value < $3 || value > $4)); then
    die 2 "config key \"$key\" must be an integer from $3 to $4, got ${CFG_RAW[$key]}"
  fi
  CFG_INT=$value
}

# Whether $1 is a Linux interface name: 1-15 printable characters, no "/" or ":", not "." or "..".
iface_ok() { [[ $1 =~ ^[!-~]{1,15}$ && $1 != */* && $1 != *:* && $1 != . && $1 != .. ]]; }

# Whether interface $1 exists in this network namespace. /proc/net/dev lists this namespace's
# interfaces, one "NAME: counters" line each, and bash reads it without starting a process; `ip`
# answers where it cannot be read.
iface_exists() {
  local line name
  if [[ -r /proc/net/dev ]]; then
    while IFS= read -r line; do
      [[ $line == *:* ]] || continue
      name=${line%%:*}
      name=${name##*[[:space:]]}
      if [[ $name == "$1" ]]; then return 0; fi
    done </proc/net/dev
    return 1
  fi
  ip link show dev "$1" >/dev/null 2>&1
}

# Reads and checks CONFIG_JSON $1 as vip-up does, for an item of family $2 (4 or 6; "" when there
# is none: vip-lease). Sets IFACE, PREFIX (the default for $2; "" without a family, see
# CFG_PREFIX), ARP_COUNT, ARP_INTERVAL_MS, LABEL (IPv4 only), IPV6_NA. Dies with exit 2 and the
# message vip-up has always given when anything is invalid.
check_config() {
  local family=$2 max=128
  read_config_json "$1" 'interface prefix arp_count arp_interval_ms label ipv6_na'
  if [[ ! -v CFG_TYPE[interface] ]]; then die 2 'config key "interface" is required'; fi
  IFACE=${CFG_VALUE[interface]}
  if [[ ${CFG_TYPE[interface]} != s ]] || ! iface_ok "$IFACE"; then
    die 2 "config key \"interface\" is not a valid interface name: ${CFG_RAW[interface]}"
  fi
  if [[ $family == 4 ]]; then max=32; fi
  CFG_PREFIX=-1
  if [[ -n $family ]]; then
    cfg_int prefix "$max" 0 "$max"
  else
    cfg_int prefix -1 0 128
  fi
  PREFIX=$CFG_INT
  CFG_PREFIX=$CFG_INT
  cfg_int arp_count 3 0 100
  ARP_COUNT=$CFG_INT
  cfg_int arp_interval_ms 200 0 60000
  ARP_INTERVAL_MS=$CFG_INT
  LABEL=''
  if ! cfg_unset label; then
    local label=${CFG_VALUE[label]}
    if [[ ${CFG_TYPE[label]} != s || ! $label =~ ^[!-~]{1,15}$ || ($label != "$IFACE" && $label != "$IFACE:"*) ]]; then
      die 2 "config key \"label\" must be the interface name or start with \"$IFACE:\" (15 characters at most), got ${CFG_RAW[label]}"
    fi
    if [[ $family == 4 ]]; then
      LABEL=$label
    elif [[ $family == 6 ]]; then
      echo "$PROG: warning: config key \"label\" only applies to IPv4 addresses; ignored" >&2
    fi
  fi
  IPV6_NA=auto
  if ! cfg_unset ipv6_na; then
    case ${CFG_TYPE[ipv6_na]}:${CFG_VALUE[ipv6_na]} in
    s:auto | s:na6 | s:kernel | s:none) IPV6_NA=${CFG_VALUE[ipv6_na]} ;;
    *) die 2 "config key \"ipv6_na\" must be \"auto\", \"na6\", \"kernel\" or \"none\", got ${CFG_RAW[ipv6_na]}" ;;
    esac
  fi
}

# --- the nftables fence -------------------------------------------------------------------------
#
# A leased address is answered for only while its element in the `leased` sets lasts: the kernel
# checks an element's timeout at every lookup, to the jiffy, so it stops the host from answering
# NFT_TIMEOUT_MS (800 ms) after the last renewal whatever flip, vip-lease and the address's own (second-
# granular) lifetime do. Two tables, made once per network namespace and then left in place:
#   table inet flip: sets vips4, leased4 (ipv4_addr), vips6, leased6 (ipv6_addr); chain input
#     drops packets to an address in vips that is not in leased, chain output packets from one
#     (TCP replies, ICMP, and IPv6 neighbour advertisements, which Linux sends from the target);
#   table netdev flip: sets vips4, leased4; for each interface that carries leased addresses, chain
#     arp_in_HEX (ingress, HEX: the interface's name in hex) drops ARP requests for such an address,
#     chain arp_out_HEX (egress, Linux 5.16 or later) ARP packets from it (replies, the kernel's own
#     requests, gratuitous ARP); chain refresh (ingress of lo) renews elements (below).
# vips holds every address vip-up added under a lease (no timeout); leased holds them with a
# timeout that every renewal resets (`add element ... timeout T expires T` updates an element in
# place, in one transaction, so the set never lacks it between).
#
# Renewal by datagram: a UDP datagram to ADDRESS:NFT_REFRESH_PORT sent from the loopback address,
# whose payload starts with the tables' token (8 random bytes, made with the tables), resets the
# timeout of ADDRESS's elements in both tables, in the kernel, as the sender's sendto passes the
# output hook and lo: `update` of an element that is there (the lookup before it keeps a lapsed
# element from being added back; only a renew request or vip-up adds it). No process is woken: the
# agent sends these at its renewals, and asks vip-lease only every 4 s or after a stall (see
# vip-lease, `datagrams`). The input chain drops the datagram; one that would leave the host (its
# address is not here: IPv6 routes it out) is dropped in output. Only root can read the token (it
# is in the ruleset), so no other local user can keep a lease alive.

readonly NFT_TIMEOUT_MS=800
readonly NFT_REFRESH_PORT=9
# The fence a host with the nftables fence can keep: the element timeout, plus room for the jiffy
# of the commit and for nft carrying a renewal out after its deadline was checked.
readonly NFT_FENCE_MIN_MS=1000
# The fence of the address lifetime alone (LINUX_LIFETIME_FENCE_MS, src/executor/lease-fence.ts).
readonly LIFETIME_FENCE_MIN_MS=1500
# A lease made after its deadline (vip-up's, see FLIP_LEASE_DEADLINE_MS there) gets an element that
# ends when one made at the deadline would: NFT_TIMEOUT_MS less how late it is. Less than this left,
# and it is not made at all (the script exits LEASE_LATE_EXIT, and flip starts it again in time).
readonly NFT_LATE_TIMEOUT_MIN_MS=100
# sysexits.h's EX_TEMPFAIL: the lease's deadline had passed, nothing was changed (LEASE_LATE_EXIT_CODE).
readonly LEASE_LATE_EXIT=75

# Sets UPTIME_MS to /proc/uptime in ms (CLOCK_BOOTTIME, in 10 ms steps): the clock of the deadlines
# that flip passes (renew requests to vip-lease, FLIP_LEASE_DEADLINE_MS to vip-up).
uptime_ms() {
  local up rest
  read -r up rest </proc/uptime
  UPTIME_MS=$((10#${up%.*} * 1000 + 10#${up#*.} * 10))
}

# Sets NFT_TABLES_TEXT to the commands that make both tables, with token $1 (0x and 16 hex digits).
nft_tables_text() {
  local t=$1 ms=${NFT_TIMEOUT_MS}ms p=$NFT_REFRESH_PORT
  NFT_TABLES_TEXT="create table inet flip
add set inet flip vips4 { type ipv4_addr; }
add set inet flip leased4 { type ipv4_addr; flags timeout; }
add set inet flip vips6 { type ipv6_addr; }
add set inet flip leased6 { type ipv6_addr; flags timeout; }
add chain inet flip input { type filter hook input priority -200; policy accept; }
add rule inet flip input ip daddr @vips4 ip daddr != @leased4 drop
add rule inet flip input ip6 daddr @vips6 ip6 daddr != @leased6 drop
add rule inet flip input iifname \"lo\" udp dport $p @th,64,64 $t drop
add chain inet flip output { type filter hook output priority -200; policy accept; }
add rule inet flip output ip saddr @vips4 ip saddr != @leased4 drop
add rule inet flip output ip6 saddr @vips6 ip6 saddr != @leased6 drop
add rule inet flip output udp dport $p @th,64,64 $t oifname != \"lo\" drop
add rule inet flip output ip daddr @leased4 udp dport $p @th,64,64 $t update @leased4 { ip daddr timeout $ms }
add rule inet flip output ip6 daddr @leased6 udp dport $p @th,64,64 $t update @leased6 { ip6 daddr timeout $ms }
create table netdev flip
add set netdev flip vips4 { type ipv4_addr; }
add set netdev flip leased4 { type ipv4_addr; flags timeout; }
add chain netdev flip refresh { type filter hook ingress device \"lo\" priority -500; policy accept; }
add rule netdev flip refresh ip daddr @leased4 udp dport $p @th,64,64 $t update @leased4 { ip daddr timeout $ms }"
}

# Sets NFT_IFACE_TEXT to the commands that make (or make again, in place) the ARP chains of
# interface $1 in table netdev flip.
nft_iface_text() {
  local name=$1 hex='' i c
  for ((i = 0; i < ${#name}; i++)); do
    printf -v c '%02x' "'${name:i:1}"
    hex+=$c
  done
  NFT_IFACE_TEXT="add chain netdev flip arp_in_$hex { type filter hook ingress device \"$name\" priority -500; policy accept; }
flush chain netdev flip arp_in_$hex
add rule netdev flip arp_in_$hex arp daddr ip @vips4 arp daddr ip != @leased4 drop
add chain netdev flip arp_out_$hex { type filter hook egress device \"$name\" priority -500; policy accept; }
flush chain netdev flip arp_out_$hex
add rule netdev flip arp_out_$hex arp saddr ip @vips4 arp saddr ip != @leased4 drop"
}

# Makes the two tables unless both are there, and the ARP chains of interface $1. Returns 1 with
# NFT_ERROR set when that fails (or only one of the tables is there: not flip's, or half deleted
# by hand). The tables of scripts before renewal by datagram (inet flip with arp flip) are
# deleted and made afresh: the renewals that follow put their elements back.
nft_tables() {
  local tables out
  NFT_ERROR=''
  tables=$(nft list tables 2>&1) || {
    NFT_ERROR=${tables%%$'\n'*}
    return 1
  }
  if [[ $'\n'$tables$'\n' == *$'\ntable arp flip\n'* ]]; then
    out='delete table arp flip'
    if [[ $'\n'$tables$'\n' == *$'\ntable inet flip\n'* ]]; then out+='; delete table inet flip'; fi
    nft "$out" >/dev/null 2>&1 || true
    echo "$PROG: warning: replaced the nftables fence's tables of an earlier version (inet flip, arp flip)" >&2
    tables=$(nft list tables 2>/dev/null) || tables=''
  fi
  local inet=0 netdev=0
  if [[ $'\n'$tables$'\n' == *$'\ntable inet flip\n'* ]]; then inet=1; fi
  if [[ $'\n'$tables$'\n' == *$'\ntable netdev flip\n'* ]]; then netdev=1; fi
  if ((inet != netdev)); then
    NFT_ERROR="only one of the tables 'inet flip' and 'netdev flip' exists; delete it (nft delete table ...) so that both are made afresh"
    return 1
  fi
  if ((inet == 0)); then
    nft_token_file || return 1
    nft_tables_text "$NFT_TOKEN"
    if ! out=$(nft -f - 2>&1 <<<"$NFT_TABLES_TEXT"); then
      # Made meanwhile by another script (create fails on an existing table): fine if both are there.
      tables=$(nft list tables 2>/dev/null) || tables=''
      if [[ ! ($'\n'$tables$'\n' == *$'\ntable inet flip\n'* && $'\n'$tables$'\n' == *$'\ntable netdev flip\n'*) ]]; then
        NFT_ERROR=${out%%$'\n'*}
        return 1
      fi
    fi
  fi
  nft_iface_text "$1"
  if ! out=$(nft -f - 2>&1 <<<"$NFT_IFACE_TEXT"); then
    NFT_ERROR="cannot make the ARP chains of $1 in table netdev flip (the egress hook needs Linux 5.16 and nftables 1.0.1): ${out%%$'\n'*}"
    return 1
  fi
}

# The token of the tables, kept in a file that only root can read, so that tables made again (after
# `nft flush ruleset`, by any script) have the same one, and the datagrams the agent sends go on
# renewing.
readonly NFT_TOKEN_FILE=${FLIP_NFT_TOKEN_FILE:-/run/flip/nftables-token}

# Sets NFT_TOKEN to the token in NFT_TOKEN_FILE, made first (8 random bytes) when there is none.
# Returns 1 with NFT_ERROR set when it can be neither read nor made.
nft_token_file() {
  local token='' tmp
  NFT_TOKEN=''
  if [[ ! -e $NFT_TOKEN_FILE ]]; then
    read -r token < <(od -An -N8 -tx8 /dev/urandom 2>/dev/null) || token=''
    if [[ $token =~ ^[0-9a-f]{16}$ ]] && mkdir -p -m 700 "${NFT_TOKEN_FILE%/*}" 2>/dev/null &&
      tmp=$(umask 077 && mktemp "$NFT_TOKEN_FILE.XXXXXX" 2>/dev/null); then
      # ln, not mv: the first script to make the file wins, and every other one reads its token.
      printf '0x%s\n' "$token" >"$tmp" && ln "$tmp" "$NFT_TOKEN_FILE" 2>/dev/null || true
      rm -f "$tmp"
    fi
  fi
  read -r token <"$NFT_TOKEN_FILE" 2>/dev/null || token=''
  if [[ ! $token =~ ^0x[0-9a-f]{16}$ ]]; then
    NFT_ERROR="cannot read or make the fence's token in $NFT_TOKEN_FILE (0x and 16 hex digits)"
    return 1
  fi
  NFT_TOKEN=$token
}

# Sets NFT_TOKEN to the tables' token (0x and 16 hex digits), or '' when it cannot be read.
nft_token() {
  local out
  NFT_TOKEN=''
  out=$(nft list chain netdev flip refresh 2>/dev/null) || return 0
  # nft prints the value without its leading zeros.
  if [[ $out =~ @th,64,64\ 0x([0-9a-f]{1,16})\  ]]; then
    NFT_TOKEN=0000000000000000${BASH_REMATCH[1]}
    NFT_TOKEN=0x${NFT_TOKEN: -16}
  fi
}

# Checks FLIP_LEASE_FENCE_MS (dies when it is invalid, or below NFT_FENCE_MIN_MS) and returns 0
# when nft is installed (its tables may still be missing: see nft_fence_init).
nft_fence_check() {
  local fence=${FLIP_LEASE_FENCE_MS-}
  if [[ -n $fence ]]; then
    if [[ ! $fence =~ ^[1-9][0-9]{0,8}$ ]]; then
      die 2 "FLIP_LEASE_FENCE_MS must be a whole number of milliseconds, got '$fence'"
    fi
    if ((fence < NFT_FENCE_MIN_MS)); then
      die 2 "a fence of $fence ms is shorter than any host can keep (at least $NFT_FENCE_MIN_MS ms with nftables, $LIFETIME_FENCE_MIN_MS ms without)"
    fi
  fi
  command -v nft >/dev/null 2>&1
}

# Decides whether the nftables fence is used (NFT_FENCE 1 or 0) for a leased address, from the
# fence the agent counts on (FLIP_LEASE_FENCE_MS, the system's `fence`; unset when run by hand).
# Dies when that fence is shorter than this host can keep: with nft, below NFT_FENCE_MIN_MS; without
# nft (not installed, or its tables cannot be made), below LIFETIME_FENCE_MIN_MS. $1: the exit code
# for a missing tool (1). Never falls back silently to a longer bound than the agent counts on.
nft_fence_init() {
  local fence=${FLIP_LEASE_FENCE_MS-}
  NFT_FENCE=0
  if ! nft_fence_check; then
    if [[ -n $fence ]] && ((fence < LIFETIME_FENCE_MIN_MS)); then
      die "$1" "a fence of $fence ms needs nftables ('nft' not found, Debian package nftables); install it, or set \"fence\": $LIFETIME_FENCE_MIN_MS"
    fi
    return 0
  fi
  if ! nft_tables "$IFACE"; then
    if [[ -n $fence ]] && ((fence < LIFETIME_FENCE_MIN_MS)); then
      die "$1" "a fence of $fence ms needs the nftables fence's tables: $NFT_ERROR"
    fi
    echo "$PROG: warning: no nftables fence ($NFT_ERROR); the address lifetime alone bounds the lease" >&2
    return 0
  fi
  NFT_FENCE=1
}

# Sets NFT_RENEW to the nft commands (one line, one transaction) that (re)start the lease of the
# addresses in $1 (IPv4, space-separated) and $2 (IPv6), and with $3 "vips" put them in vips too;
# $4: the element timeout in ms, NFT_TIMEOUT_MS by default.
nft_renew_commands() {
  local v4=$1 v6=$2 vips=${3-} timeout=${4-$NFT_TIMEOUT_MS} a list leases cmds=''
  if [[ -n $v4 ]]; then
    list='' leases=''
    for a in $v4; do
      list+="$a, "
      leases+="$a timeout ${timeout}ms expires ${timeout}ms, "
    done
    list=${list%, } leases=${leases%, }
    if [[ $vips == vips ]]; then cmds+="add element inet flip vips4 { $list }; add element netdev flip vips4 { $list }; "; fi
    cmds+="add element inet flip leased4 { $leases }; add element netdev flip leased4 { $leases }; "
  fi
  if [[ -n $v6 ]]; then
    list='' leases=''
    for a in $v6; do
      list+="$a, "
      leases+="$a timeout ${timeout}ms expires ${timeout}ms, "
    done
    list=${list%, } leases=${leases%, }
    if [[ $vips == vips ]]; then cmds+="add element inet flip vips6 { $list }; "; fi
    cmds+="add element inet flip leased6 { $leases }; "
  fi
  NFT_RENEW=${cmds%; }
}

# Sets NFT_END to the nft commands (one transaction) that end the lease of address $1 of family $2
# at once, and with $3 "vips" take it out of vips too; none fails when the address is in no set.
nft_end_commands() {
  local a=$1 sets=leased cmds='' set table
  if [[ ${3-} == vips ]]; then sets='leased vips'; fi
  for set in $sets; do
    if [[ $2 == 4 ]]; then
      for table in 'inet flip' 'netdev flip'; do
        cmds+="add element $table ${set}4 { $a }; delete element $table ${set}4 { $a }; "
      done
    else
      cmds+="add element inet flip ${set}6 { $a }; delete element inet flip ${set}6 { $a }; "
    fi
  done
  NFT_END=${cmds%; }
}
