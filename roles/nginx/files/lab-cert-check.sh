#!/bin/sh
# Read-only check on the control node, run by the nginx role through a pipe lookup: prints
# "ok" when the lab CA and this host's certificate are all as tls.yml would make them (files
# and modes, the certificate signed by the CA, matching its key, for the served name and
# SANs, valid beyond the renewal window), else what is not. Always exits 0.
# Arguments: CA_DIR HOST COMMON_NAME RENEW_SECONDS SAN...
dir=$1 host=$2 cn=$3 renew=$4
shift 4
ca_key=$dir/ca.key ca_crt=$dir/ca.crt key=$dir/servers/$host.key crt=$dir/servers/$host.crt
for f in "$ca_key" "$ca_crt" "$key" "$crt"; do
  [ -f "$f" ] || { echo "missing $f"; exit 0; }
done
modes="$(stat -c %a "$dir" "$dir/servers" "$ca_key" "$ca_crt" "$key" "$crt" | tr '\n' ' ')"
[ "$modes" = "700 700 600 644 600 644 " ] || { echo "modes $modes"; exit 0; }
openssl x509 -in "$crt" -noout -checkend "$renew" >/dev/null 2>&1 || { echo "expires"; exit 0; }
openssl verify -CAfile "$ca_crt" "$crt" >/dev/null 2>&1 || { echo "not signed by the CA"; exit 0; }
[ "$(openssl x509 -in "$ca_crt" -noout -pubkey)" = "$(openssl pkey -in "$ca_key" -pubout)" ] \
  || { echo "CA key"; exit 0; }
[ "$(openssl x509 -in "$crt" -noout -pubkey)" = "$(openssl pkey -in "$key" -pubout)" ] \
  || { echo "host key"; exit 0; }
subject="$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253)"
[ "$subject" = "subject=CN=$cn" ] || { echo "subject $subject"; exit 0; }
have="$(openssl x509 -in "$crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' \
  | sed 's/^IPAddress:/IP:/' | sort | tr '\n' ' ')"
want="$(printf '%s\n' "$@" | sort | tr '\n' ' ')"
[ "$have" = "$want" ] || { echo "SANs $have"; exit 0; }
echo ok
