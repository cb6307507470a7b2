#!/usr/bin/env bash
# docs/audit-example.html: the audit playbook's report for the lab server (make demo), after what an
# admin typically leaves behind there - a user, a reusable 30-day key, two nodes registered without
# devices (so never seen). Run after `make demo`, with the test bed's environment:
#   eval "$(scripts/testbed-env.sh)"; scripts/audit-example.sh
. "$(dirname "$0")/lib.sh"

name=tailnet-headscale-demo
hs() { docker exec "$name" headscale -o json "$@"; }
[ "$(docker inspect -f '{{.State.Status}}' "$name" 2>/dev/null)" = running ] || die "no lab container: run make demo first"

hs users list | grep -q '"name": *"alice"' || hs users create alice >/dev/null
alice="$(hs users list | python3 -c 'import json,sys; print([u["id"] for u in json.load(sys.stdin) if u["name"] == "alice"][0])')"
if ! hs preauthkeys list | python3 -c 'import json,sys; sys.exit(not any(k.get("reusable") for k in json.load(sys.stdin) or []))'; then
  hs preauthkeys create --user "$alice" --reusable --expiration 30d >/dev/null
fi
for node in laptop build-box; do
  if ! hs nodes list | grep -q "\"given_name\": *\"$node\""; then
    auth_id="hskey-authreq-$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9' | cut -c1-24)"
    hs debug create-node --name "$node" --user alice --key "$auth_id" >/dev/null
    hs auth register --auth-id "$auth_id" --user alice >/dev/null
  fi
done

cd "$REPO_ROOT" || exit 1
started=$(date +%s.%N)
ansible-playbook -i lab/inventory.yml tailnet.headscale.audit -e audit_report="$REPO_ROOT/docs/audit-example.html" -e audit_fail_on=
log "docs/audit-example.html written; the playbook took $(python3 -c "import time; print('%.1f' % (time.time() - $started))") s"
