#!/usr/bin/env bash
# The collection as users get it: build the Galaxy tarball, check what it
# carries, install it into an empty collections path, and from there (nothing
# from this checkout) run site.yml (server and proxy roles) against a
# throwaway systemd container and a module against the headscale it deployed.
# Run through `make galaxy` (it sets the env).
. "$(dirname "$0")/lib.sh"

name=tailnet-headscale-galaxy
image="${TAILNET_IMAGE_BOOKWORM:?run through make galaxy}"
work="$(mktemp -d)"
throwaway_container "$name" "$work"
start="$(date +%s)"

cd "$REPO_ROOT" || exit 1
ansible-galaxy collection build --output-path "$work" >/dev/null
tarball="$(ls "$work"/tailnet-headscale-*.tar.gz)"
log "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

tar -tzf "$tarball" > "$work/contents"
for wanted in MANIFEST.json plugins/modules/node.py plugins/module_utils/headscale.py roles/server/tasks/main.yml \
              roles/proxy/tasks/main.yml roles/client/tasks/main.yml playbooks/site.yml meta/runtime.yml CHANGELOG.rst; do
  grep -qx "$wanted" "$work/contents" || die "$wanted is missing from the tarball"
done
if grep -E '^(molecule|tests|scripts|bench|lab|\.venv|\.collections|\.ci|changelogs/fragments)(/|$)' "$work/contents"; then
  die "the tarball carries test-bed files (above): fix build_ignore in galaxy.yml"
fi

export ANSIBLE_COLLECTIONS_PATH="$work/collections"
ansible-galaxy collection install --offline "$tarball" -p "$ANSIBLE_COLLECTIONS_PATH" >/dev/null
installed="$(ansible-galaxy collection list tailnet.headscale 2>/dev/null | sed -n 's/^# //p')"
[ "$installed" = "$ANSIBLE_COLLECTIONS_PATH/ansible_collections" ] \
  || die "tailnet.headscale resolves to '$installed', not the installed tarball"

run_systemd_container "$name" "$image" --hostname headscale-galaxy --network none
sed "s/tailnet-headscale-demo:/$name:/" lab/inventory.yml > "$work/inventory.yml"

# From outside the checkout, so nothing but the installed collection is found.
cd "$work" || exit 1
ansible-playbook -i inventory.yml tailnet.headscale.site > site.log 2>&1 \
  || { tail -n 40 site.log >&2; die "site.yml from the installed collection failed"; }
docker exec "$name" systemctl is-active --quiet headscale.service nginx.service \
  || die "headscale or nginx is not running after site.yml"

user_module() {
  ANSIBLE_LOAD_CALLBACK_PLUGINS=1 ANSIBLE_STDOUT_CALLBACK=ansible.builtin.json \
    ansible -i inventory.yml "$name" -m tailnet.headscale.user -a name=galaxy-check \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["plays"][0]["tasks"][0]["hosts"]; r=list(r.values())[0]; print("failed" if r.get("failed") else r["changed"])'
}
[ "$(user_module)" = "True" ] || die "tailnet.headscale.user from the installed collection did not create the user"
[ "$(user_module)" = "False" ] || die "tailnet.headscale.user from the installed collection is not idempotent"
docker exec "$name" headscale users list | grep -q galaxy-check || die "the user is not on the server"

log "galaxy tarball: built, installed, site.yml and tailnet.headscale.user ran from it ($(( $(date +%s) - start )) s)"
