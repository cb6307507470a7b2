#!/usr/bin/env bash
# The main job against the embedded default target: start (or reuse) the lab
# container, run `ansible-playbook tailnet.headscale.site` against it, and
# show what a user needs next. Run through `make demo` (it sets the env).
. "$(dirname "$0")/lib.sh"

name=tailnet-headscale-demo
image="${TAILNET_IMAGE_BOOKWORM:?run through make demo}"

state="$(docker inspect -f '{{.State.Status}}' "$name" 2>/dev/null)" || state=missing
case "$state" in
  running) log "reusing lab container $name" ;;
  missing)
    log "starting lab container $name ($image)"
    run_systemd_container "$name" "$image" --hostname headscale-lab
    ;;
  *)
    log "starting stopped lab container $name"
    docker start "$name" >/dev/null
    docker exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true
    ;;
esac

cd "$REPO_ROOT" || exit 1
ansible-playbook -i lab/inventory.yml tailnet.headscale.site

cat <<INFO

headscale is running, hardened, in the lab container '$name':
  $(docker exec "$name" headscale version | head -n 1)
  health:  $(docker exec "$name" curl -fsS http://127.0.0.1:8080/health)
  TLS:     $(docker exec "$name" curl -sS --cacert /etc/nginx/tailnet-headscale/lab-ca.crt --resolve headscale.lab.test:443:127.0.0.1 -o /dev/null -w 'HTTP %{http_code}' https://headscale.lab.test/health) from https://headscale.lab.test (nginx, lab CA /etc/nginx/tailnet-headscale/lab-ca.crt)
  unit:    $(docker exec "$name" systemctl is-active headscale.service), exposure $(docker exec "$name" systemd-analyze security --no-pager headscale.service | sed -n 's/.*Overall exposure level for [^:]*: //p')

Use the CLI (root, or a member of headscale-admin, over /run/headscale/headscale.sock):
  docker exec -it $name headscale users create alice
  docker exec -it $name headscale users list
Re-run the same job (a second run changes nothing):
  make demo
Remove the lab:
  make clean-demo
INFO
