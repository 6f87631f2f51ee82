#!/bin/bash
# campus-acme: entrypoint of campus-lab-acme:bookworm (no systemd). Starts bind9
# (authoritative for $ACME_ZONE, TSIG-signed dynamic updates of TXT records) and
# two pebble instances that resolve through it, then waits: when any of the three
# exits, the container exits (non-zero).
#
# Settings (environment; files under /etc/campus-acme/ are optional mounts):
#   ACME_ZONE            zone bind9 serves (default campus.test)
#   ACME_ZONE_RECORDS    records, separated by ';' or newlines: "NAME ADDRESS"
#                        (A or AAAA by the address) or "NAME TYPE DATA...";
#                        NAME relative to the zone, "@" or absolute with a dot,
#                        e.g. "app 172.28.40.21;www 172.28.40.21".
#                        /etc/campus-acme/zone-records (same syntax) is added.
#                        "ns" and "acme" always get this container's address.
#   ACME_TSIG_NAME       TSIG key name (default campus-acme)
#   ACME_TSIG_ALGORITHM  default hmac-sha256
#   ACME_TSIG_SECRET     base64 secret. Or mount /etc/campus-acme/tsig.key (a
#                        bind `key "NAME" { algorithm ...; secret "..."; };`),
#                        which wins. Neither: one is generated.
#                        The key in use: /run/campus-acme/tsig.key, and as a
#                        certbot-dns-rfc2136 credentials file:
#                        /run/campus-acme/rfc2136.ini
#   ACME_EAB_KEYS        MAC keys of the EAB pebble, "KID:KEY" separated by
#                        ';' or spaces, KEY base64url without padding
#                        (default: one key, kid campus-eab-1, key
#                        X6RtVGo-SabbRhWeQL00FjuDbo3J5OCM18lESbOZBBbF3PPlkgI93zHPjsEHyTLu)
#   ACME_CERT_VALIDITY   lifetime of issued certificates in seconds
#                        (default 7776000 = 90 days)
#   ACME_HTTP_PORT       port pebble validates HTTP-01 on (default 80)
#   ACME_REGISTRY_USERS  logins of the registry on port 5000, "USER:PASSWORD"
#                        separated by ';' (bcrypt in an htpasswd file), and
#                        those of /etc/campus-acme/registry-users (a line
#                        each). None: no registry. It serves the pebble API's certificate
#                        (acme.$ACME_ZONE) and keeps images in the
#                        container's own file system.
#   TLS of pebble's API: /etc/campus-acme/tls/cert.pem + key.pem (cert.pem may
#                        hold the chain). Missing: a throwaway CA and cert are
#                        made in /run/campus-acme/tls/ (ca.pem for clients),
#                        SANs acme.$ACME_ZONE, localhost, the container's IPs
#                        and $ACME_TLS_NAMES (extra DNS names, space separated).
# Ports: 53 udp+tcp (bind9), 14000/15000 (pebble, management), 14001/15001
# (pebble with externalAccountBindingRequired). Each pebble has its own CA,
# new on every start: root at https://HOST:1500x/roots/0, intermediate at
# /intermediates/0. Pebble keeps everything in memory: after a restart, ACME
# accounts registered before are unknown (accountDoesNotExist) and the roots are
# new. "campus-acme: ready" is logged once everything answers.
set -euo pipefail

ZONE="${ACME_ZONE:-campus.test}"
ZONE="${ZONE%.}"
TSIG_NAME="${ACME_TSIG_NAME:-campus-acme}"
TSIG_ALG="${ACME_TSIG_ALGORITHM:-hmac-sha256}"
EAB_KEYS="${ACME_EAB_KEYS:-campus-eab-1:X6RtVGo-SabbRhWeQL00FjuDbo3J5OCM18lESbOZBBbF3PPlkgI93zHPjsEHyTLu}"
VALIDITY="${ACME_CERT_VALIDITY:-7776000}"
HTTP_PORT="${ACME_HTTP_PORT:-80}"
ETC=/etc/campus-acme
RUN=/run/campus-acme
ZONEFILE="/var/lib/bind/db.$ZONE"

log() { echo "campus-acme: $*"; }
die() { echo "campus-acme: ERROR: $*" >&2; exit 1; }

mkdir -p "$RUN" /run/named
chown bind:bind /run/named
mapfile -t MY_IPS < <(ip -o addr show scope global | awk '{ split($4, a, "/"); print a[1] }')
[[ ${#MY_IPS[@]} -gt 0 ]] || die "no global address on this container"
MY_IP4="$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')"
[[ -n "$MY_IP4" ]] || die "no IPv4 address on this container"
[[ "$VALIDITY" =~ ^[1-9][0-9]*$ ]] || die "ACME_CERT_VALIDITY must be seconds, not '$VALIDITY'"

# --- TLS certificate of pebble's API ---------------------------------------
if [[ -f $ETC/tls/cert.pem && -f $ETC/tls/key.pem ]]; then
  TLS_CERT=$ETC/tls/cert.pem TLS_KEY=$ETC/tls/key.pem
  log "pebble API certificate from $ETC/tls"
else
  TLS_CERT=$RUN/tls/cert.pem TLS_KEY=$RUN/tls/key.pem
  mkdir -p $RUN/tls
  san="DNS:acme.$ZONE,DNS:localhost,IP:127.0.0.1"
  for ip in "${MY_IPS[@]}"; do san+=",IP:$ip"; done
  for n in ${ACME_TLS_NAMES:-}; do san+=",DNS:$n"; done
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=campus-acme throwaway CA" -keyout $RUN/tls/ca.key -out $RUN/tls/ca.pem 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=acme.$ZONE" -keyout "$TLS_KEY" -out $RUN/tls/cert.csr 2>/dev/null
  openssl x509 -req -in $RUN/tls/cert.csr -CA $RUN/tls/ca.pem -CAkey $RUN/tls/ca.key -CAcreateserial \
    -days 30 -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") -out "$TLS_CERT" 2>/dev/null
  log "no $ETC/tls/{cert,key}.pem: made a throwaway CA, $RUN/tls/ca.pem ($san)"
fi

# --- TSIG key --------------------------------------------------------------
if [[ -f $ETC/tsig.key ]]; then
  cp $ETC/tsig.key $RUN/tsig.key
  TSIG_NAME="$(sed -nE 's/^[[:space:]]*key[[:space:]]+"?([^"[:space:]{]+)"?[[:space:]]*\{.*/\1/p' $RUN/tsig.key | head -n1)"
  TSIG_ALG="$(sed -nE 's/(^|.*[[:space:]{;])algorithm[[:space:]]+"?([^";[:space:]]+).*/\2/p' $RUN/tsig.key | head -n1)"
  log "TSIG key '$TSIG_NAME' ($TSIG_ALG) from $ETC/tsig.key"
elif [[ -n "${ACME_TSIG_SECRET:-}" ]]; then
  printf 'key "%s" {\n\talgorithm %s;\n\tsecret "%s";\n};\n' "$TSIG_NAME" "$TSIG_ALG" "$ACME_TSIG_SECRET" >$RUN/tsig.key
  log "TSIG key '$TSIG_NAME' ($TSIG_ALG) from ACME_TSIG_SECRET"
else
  tsig-keygen -a "$TSIG_ALG" "$TSIG_NAME" >$RUN/tsig.key
  log "no TSIG key given: generated '$TSIG_NAME' ($TSIG_ALG) in $RUN/tsig.key"
fi
[[ -n "$TSIG_NAME" && -n "$TSIG_ALG" ]] || die "cannot read the key name/algorithm of $ETC/tsig.key"
TSIG_SECRET="$(sed -n 's/.*secret[[:space:]]*"\([^"]*\)".*/\1/p' $RUN/tsig.key | head -n1)"
chown root:bind $RUN/tsig.key && chmod 0640 $RUN/tsig.key
umask 077
cat >$RUN/rfc2136.ini <<EOF
dns_rfc2136_server = $MY_IP4
dns_rfc2136_port = 53
dns_rfc2136_name = $TSIG_NAME
dns_rfc2136_secret = $TSIG_SECRET
dns_rfc2136_algorithm = ${TSIG_ALG^^}
EOF
umask 022

# --- zone and named.conf ---------------------------------------------------
records="${ACME_ZONE_RECORDS:-}"
[[ -f $ETC/zone-records ]] && records+=$'\n'"$(cat $ETC/zone-records)"
{
  printf '$ORIGIN %s.\n$TTL 60\n' "$ZONE"
  printf '@ IN SOA ns.%s. hostmaster.%s. %s 3600 600 86400 10\n' "$ZONE" "$ZONE" "$(date +%s)"
  printf '@ IN NS ns.%s.\n' "$ZONE"
  printf 'ns IN A %s\nacme IN A %s\n' "$MY_IP4" "$MY_IP4"
  while IFS= read -r entry; do
    read -r -a f <<<"$entry" || true
    [[ ${#f[@]} -eq 0 || ${f[0]} == \#* ]] && continue
    if [[ ${#f[@]} -eq 2 ]]; then
      if [[ ${f[1]} == *:* ]]; then type=AAAA; else type=A; fi
      printf '%s IN %s %s\n' "${f[0]}" "$type" "${f[1]}"
    else
      printf '%s IN %s\n' "${f[0]}" "${f[*]:1}"
    fi
  done < <(tr ';' '\n' <<<"$records")
} >"$ZONEFILE"
rm -f "$ZONEFILE.jnl"
chown bind:bind "$ZONEFILE"
cat >$RUN/named.conf <<EOF
options {
	directory "/var/cache/bind";
	pid-file "/run/named/named.pid";
	listen-on port 53 { any; };
	listen-on-v6 { none; };
	recursion no;
	allow-query { any; };
	allow-transfer { none; };
	dnssec-validation no;
	notify no;
};
include "$RUN/tsig.key";
zone "$ZONE" {
	type primary;
	file "$ZONEFILE";
	update-policy { grant "$TSIG_NAME" zonesub TXT; };
};
EOF
named-checkconf $RUN/named.conf || die "named.conf is invalid"
named-checkzone -q "$ZONE" "$ZONEFILE" || { named-checkzone "$ZONE" "$ZONEFILE" >&2 || true; cat -n "$ZONEFILE" >&2; die "zone $ZONE is invalid (ACME_ZONE_RECORDS?)"; }
log "zone $ZONE:"; grep -v '^\$' "$ZONEFILE" | sed 's/^/  /'

# --- pebble configurations -------------------------------------------------
python3 - "$RUN" "$TLS_CERT" "$TLS_KEY" "$HTTP_PORT" "$VALIDITY" "$EAB_KEYS" <<'EOF'
import base64, json, re, sys
run, cert, key, http_port, validity, eab = sys.argv[1:]
macs = {}
for item in re.split(r"[;\s]+", eab.strip()):
    if not item:
        continue
    kid, sep, mac = item.partition(":")
    if not (kid and sep and re.fullmatch(r"[A-Za-z0-9_-]+", mac)):
        sys.exit(f"campus-acme: ERROR: ACME_EAB_KEYS entry {item!r} is not KID:base64url-key (no padding)")
    base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    macs[kid] = mac
if not macs:
    sys.exit("campus-acme: ERROR: ACME_EAB_KEYS holds no key")
for name, port, mgmt, extra in (
    ("pebble", 14000, 15000, {"externalAccountBindingRequired": False}),
    ("pebble-eab", 14001, 15001, {"externalAccountBindingRequired": True, "externalAccountMACKeys": macs}),
):
    conf = {
        "listenAddress": f"0.0.0.0:{port}",
        "managementListenAddress": f"0.0.0.0:{mgmt}",
        "certificate": cert,
        "privateKey": key,
        "httpPort": int(http_port),
        "tlsPort": 443,
        "ocspResponderURL": "",
        "certificateValidityPeriod": int(validity),
        **extra,
    }
    with open(f"{run}/{name}.json", "w") as fh:
        json.dump({"pebble": conf}, fh, indent=2)
print("campus-acme: EAB MAC key ids: " + ", ".join(macs))
EOF

# --- registry ----------------------------------------------------------------
REGISTRY_USERS="${ACME_REGISTRY_USERS:-}"
[[ -f $ETC/registry-users ]] && REGISTRY_USERS+=";$(cat $ETC/registry-users)"
if [[ -n ${REGISTRY_USERS//;/} ]]; then
  : >$RUN/registry.htpasswd
  while IFS= read -r login; do
    [[ -z $login ]] && continue
    [[ $login == ?*:?* ]] || die "ACME_REGISTRY_USERS entry is not USER:PASSWORD"
    htpasswd -Bbn "${login%%:*}" "${login#*:}" | grep . >>$RUN/registry.htpasswd
  done < <(tr ';' '\n' <<<"$REGISTRY_USERS")
  cat >$RUN/registry.yml <<REGISTRY
version: 0.1
log: {level: info, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: /var/lib/campus-registry}}
http: {addr: ":5000", tls: {certificate: "$TLS_CERT", key: "$TLS_KEY"}}
auth: {htpasswd: {realm: campus-registry, path: "$RUN/registry.htpasswd"}}
REGISTRY
  log "registry on :5000 for $(cut -d: -f1 $RUN/registry.htpasswd | paste -sd, -)"
fi

# --- run -------------------------------------------------------------------
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait || true; exit "${1:-0}"; }
trap 'stop 0' TERM INT

named -g -4 -u bind -c $RUN/named.conf > >(sed -u 's/^/named: /') 2>&1 &
pids+=($!)
for name in pebble pebble-eab; do
  pebble -config "$RUN/$name.json" -dnsserver 127.0.0.1:53 > >(sed -u "s/^/$name: /") 2>&1 &
  pids+=($!)
done

if [[ -f $RUN/registry.yml ]]; then
  docker-registry serve $RUN/registry.yml > >(sed -u 's/^/registry: /') 2>&1 &
  pids+=($!)
fi

ready() {
  local p
  for p in 14000 14001 15000 15001 $([[ -f $RUN/registry.yml ]] && echo 5000); do ss -Hltn "sport = :$p" | grep -q . || return 1; done
  dig +short +time=1 +tries=1 @127.0.0.1 "$ZONE" SOA | grep -q .
}
for i in $(seq 1 100); do
  if ready; then log "ready (directories https://acme.$ZONE:14000/dir and :14001/dir)"; break; fi
  [[ $i -eq 100 ]] && log "WARNING: not ready after 20 s"
  sleep 0.2
done

set +e
wait -n "${pids[@]}"
rc=$?
log "a service exited (status $rc); stopping"
stop $((rc == 0 ? 1 : rc))
