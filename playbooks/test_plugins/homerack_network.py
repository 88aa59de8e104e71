"""Jinja test ``homerack_in_network``: an address inside a network (or loopback).

Standard library only (``ansible.utils.ipaddr`` needs netaddr on the controller).
"""

import ipaddress


def homerack_in_network(address, network):
    """True for ('192.168.1.5', '192.168.0.0/16') and for loopback addresses."""
    try:
        ip = ipaddress.ip_address(str(address))
        return ip.is_loopback or ip in ipaddress.ip_network(str(network), strict=False)
    except ValueError:
        return False


class TestModule:
    """Ansible test plugin entry point."""

    def tests(self):
        return {"homerack_in_network": homerack_in_network}
