"""systemd.daemon.booted(): AnsibleModule uses the journal only on a system booted with systemd."""


def booted():
    return True
