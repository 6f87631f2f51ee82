"""Probe ports from the host this runs on (the outside host or a member).

  portcheck.py tcp ADDR:PORT...   print {"ADDR:PORT": "open"|"refused"|"timeout"} as JSON
  portcheck.py udp ADDR:PORT...   send a few datagrams to each (the verdict is read on the target)
  portcheck.py esp ADDR...        send a few raw ESP (IP protocol 50) packets to each (needs CAP_NET_RAW)
"""
import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def connect(target: str) -> str:
    host, port = target.rsplit(":", 1)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, int(port)))
        except TimeoutError:
            return "timeout"
        except ConnectionRefusedError:
            return "refused"
        except OSError as exc:
            return f"error: {exc}"
    return "open"


def tcp(targets: list[str]) -> dict[str, str]:
    # All at once: a dropped port costs its 2 s timeout once, not once per port in a row.
    with ThreadPoolExecutor(max_workers=len(targets) or 1) as pool:
        return dict(zip(targets, pool.map(connect, targets), strict=True))


def udp(targets: list[str]) -> dict[str, str]:
    for target in targets:
        host, port = target.rsplit(":", 1)
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _attempt in range(3):
                sock.sendto(b"campus-swarm-verify", (host, int(port)))
                time.sleep(0.05)
    return {target: "sent" for target in targets}


def esp(targets: list[str]) -> dict[str, str]:
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, 50) as sock:
        for host in targets:
            for _attempt in range(3):
                # SPI and sequence number, then a payload: enough to be an ESP packet on the wire.
                sock.sendto(b"\x00\x00\x10\x01\x00\x00\x00\x01" + b"\x00" * 24, (host, 0))
                time.sleep(0.05)
    return {target: "sent" for target in targets}


if __name__ == "__main__":
    print(json.dumps({"tcp": tcp, "udp": udp, "esp": esp}[sys.argv[1]](sys.argv[2:])))
