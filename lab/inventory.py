#!/usr/bin/env python3
"""Write a lab inventory (the shape the whole project uses) to stdout or a file.

Deterministic: the same arguments always give the same bytes.
  inventory.py --prefix campus-lab --managers 3 --workers 2 \
      --network campus-lab --subnet 172.28.10.0/24 --suite bookworm \
      --state-dir /abs/repo/.lab --output inventories/lab/hosts.yml
Managers get host addresses .11-.19, workers .21 onwards, the outside host .250.
"""
import argparse
import ipaddress
import os
import sys


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prefix", default="campus-lab")
    p.add_argument("--managers", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--network", default="campus-lab")
    p.add_argument("--subnet", default="172.28.10.0/24")
    p.add_argument("--suite", default="bookworm")
    p.add_argument("--state-dir", required=True, help="absolute path of the repo's .lab dir")
    p.add_argument("--output", required=True)
    a = p.parse_args()

    net = ipaddress.ip_network(a.subnet, strict=True)
    if not 1 <= a.managers <= 9 or a.workers < 0 or 21 + a.workers > 250 or net.num_addresses < 256:
        p.error(f"need 1-9 managers, room for {a.workers} workers from .21 to .249, and a /24 or larger, in {net}")
    out = os.path.abspath(a.output)
    # Absolute: also right for the implicit localhost, which has no inventory_dir.
    state_dir = os.path.abspath(a.state_dir)

    def host(name: str, index: int, extra: str = "") -> str:
        return f"            {name}: {{ansible_host: {net[index]}{extra}}}\n"

    # The example stack's broker keeps its data on the node labelled demo.broker: the first worker, else m1.
    broker = 'demo.broker: "true"'

    def labels(*pairs: str) -> str:
        return f", swarm_labels: {{{', '.join(pairs)}}}" if pairs else ""

    managers = "".join(host(f"{a.prefix}-m{i}", 10 + i, labels(*([broker] if i == 1 and not a.workers else [])))
                       for i in range(1, a.managers + 1))
    workers = "".join(
        host(f"{a.prefix}-w{i}", 20 + i, labels(f"zone: {'ab'[(i - 1) % 2]}", *([broker] if i == 1 else [])))
        for i in range(1, a.workers + 1)
    )
    text = f"""\
---
# Written by lab/inventory.py ({a.managers} managers, {a.workers} workers); regenerated, do not edit.
all:
  vars:
    ansible_user: campus
    ansible_become: true
    ansible_python_interpreter: /usr/bin/python3
    lab_state_dir: {state_dir}
    ansible_ssh_private_key_file: "{{{{ lab_state_dir }}}}/id_ed25519"
    ansible_ssh_common_args: "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
    # The nodes share this machine's kernel (and its boot_id): reboot.yml tells a new boot by PID 1's start.
    reboot_boot_time_command: cut -d' ' -f22 /proc/1/stat
    lab_network_name: {a.network}
    lab_network_subnet: {net}
    lab_image: campus-swarm-node:{a.suite}
    docker_install_source: distro
    # A campus network: no way out but the HTTP proxy (squid, at .2), for apt and the engine.
    lab_proxy_address: {net[2]}
    docker_proxy_http: http://{net[2]}:3128
    docker_proxy_https: http://{net[2]}:3128
    # Overlay subnets from a pool of their own, one network per kind of traffic.
    swarm_default_addr_pool: [10.201.0.0/16]
    # Images reach the nodes through the collection's image delivery (no registry here).
    images_list:
      - {{name: "campus-probe:1"}}
    networks_overlays:
      - {{name: proxy, subnet: 10.201.1.0/24}}
    # Let's Encrypt and the campus DNS of the lab: Pebble and bind9 (zone
    # campus.test, an A record for each site name at the edge host) at .3.
    lab_acme_address: {net[3]}
    docker_proxy_no_proxy: [.campus.test]
    # The entrance: Debian's nginx, built on this machine (lab/images/build.sh).
    proxy_image: campus-nginx:bookworm
    proxy_image_source: archive
    proxy_worker_user: www-data
    proxy_worker_gid: 33
    proxy_sites:
      - {{names: [app.campus.test], upstream: "demo_web:8080"}}
    certbot_acme_server: https://acme.campus.test:14000/dir
    certbot_acme_ca_file: "{{{{ lab_state_dir }}}}/acme-{a.network}/ca.pem"
    certbot_email: admin@campus.test
    # The example stack (examples/stack/stack.yml, given with -e by lab.sh): its
    # broker password, generated once into the state directory (mode 0600).
    vault_demo_amqp_password: >-
      {{{{ lookup('ansible.builtin.password', lab_state_dir ~ '/demo-amqp-password', length=32, chars=['ascii_letters', 'digits']) }}}}
    # No IPVS in the lab's containers: services are reached by their tasks' addresses.
    demo_endpoint_mode: dnsrr
  children:
    swarm:
      children:
        swarm_managers:
          hosts:
{managers}        swarm_workers:
          hosts:{'' if workers else ' {}'}
{workers}    swarm_edge:
      hosts:
        {a.prefix}-m1: {{}}
    # Not a cluster member: stands for the rest of the world when probing the nodes.
    lab_outside:
      hosts:
        {a.prefix}-out: {{ansible_host: {net[250]}}}
"""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
