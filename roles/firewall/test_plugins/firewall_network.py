"""Jinja test ``firewall_ip_network``: an IPv4/IPv6 address or network without host bits.

Uses only Python's standard ``ipaddress`` module, so it works on controllers without
``netaddr`` (which ``ansible.utils.ipaddr`` needs).
"""

import ipaddress


def firewall_ip_network(value):
    """True for '10.0.0.5', '192.168.0.0/16', 'fd00::/8'; False for '192.168.1.0/16', 'lan', 42."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


class TestModule:
    """Ansible test plugin entry point."""

    def tests(self):
        return {"firewall_ip_network": firewall_ip_network}
