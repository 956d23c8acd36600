#!/bin/sh
# Read-only check on the control node, run by the log_server role through a pipe lookup:
# prints "ok" when the lab CA and every log certificate under CA_DIR/logs are as tls.yml
# makes them (files and modes, signed by the CA, matching their key, subject CN=NAME, the
# SANs, the extended key usage, valid beyond the renewal window), else the first thing
# that is not. Always exits 0.
# Arguments: CA_DIR RENEW_SECONDS NAME|serverAuth|clientAuth|SAN,SAN ...
dir=$1 renew=$2
shift 2
[ -f "$dir/ca.key" ] && [ -f "$dir/ca.crt" ] || { echo "no lab CA in $dir"; exit 0; }
[ "$(stat -c %a "$dir/logs" 2>/dev/null)" = 700 ] || { echo "mode of $dir/logs"; exit 0; }
for spec in "$@"; do
  name=${spec%%|*} rest=${spec#*|}
  usage=${rest%%|*} sans=${rest#*|}
  key=$dir/logs/$name.key crt=$dir/logs/$name.crt
  [ -f "$key" ] && [ -f "$crt" ] || { echo "missing $crt"; exit 0; }
  [ "$(stat -c %a "$key" "$crt" | tr '\n' ' ')" = "600 644 " ] || { echo "modes of $name"; exit 0; }
  openssl x509 -in "$crt" -noout -checkend "$renew" >/dev/null 2>&1 || { echo "$name expires"; exit 0; }
  openssl verify -CAfile "$dir/ca.crt" "$crt" >/dev/null 2>&1 || { echo "$name not signed by the CA"; exit 0; }
  [ "$(openssl x509 -in "$crt" -noout -pubkey)" = "$(openssl pkey -in "$key" -pubout)" ] || { echo "$name key"; exit 0; }
  [ "$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253)" = "subject=CN=$name" ] || { echo "$name subject"; exit 0; }
  have="$(openssl x509 -in "$crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ' | tr ',' '\n' \
    | sed 's/^IPAddress:/IP:/' | sort | tr '\n' ' ')"
  want="$(printf '%s\n' "$sans" | tr ',' '\n' | sort | tr '\n' ' ')"
  [ "$have" = "$want" ] || { echo "$name SANs $have"; exit 0; }
  case $usage in
    serverAuth) eku="TLS Web Server Authentication" ;;
    *) eku="TLS Web Client Authentication" ;;
  esac
  openssl x509 -in "$crt" -noout -ext extendedKeyUsage | tail -n +2 | grep -q "$eku" || { echo "$name usage"; exit 0; }
done
echo ok
