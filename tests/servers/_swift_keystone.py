"""Set up and serve a test Keystone in ONE process of the system python3 (Debian's keystone lives there).

Usage: /usr/bin/python3 _swift_keystone.py CONFIG_DIR PORT ADMIN_PASSWORD REGION

Every keystone-manage run spends most of its time importing keystone (20 s on a loaded 2-core machine),
so db_sync, fernet_setup, credential_setup and bootstrap run here in-process, one after another, and the
same process then serves the public API on 127.0.0.1:PORT (wsgiref, as keystone-wsgi-public does).
"""

import getpass
import os
import sys
from wsgiref import simple_server

config_dir, port, admin_password, region = sys.argv[1:5]
config = os.path.join(config_dir, 'keystone.conf')
os.environ.update(OS_KEYSTONE_CONFIG_DIR=config_dir, OS_KEYSTONE_CONFIG_FILES='keystone.conf')

from keystone.cmd import cli  # noqa: E402 (after the environment the app reads)
from keystone.common import provider_api  # noqa: E402
from keystone.server.wsgi import initialize_public_application  # noqa: E402

user = getpass.getuser()
for command in (
    ['db_sync'],
    ['fernet_setup', '--keystone-user', user, '--keystone-group', user],
    ['credential_setup', '--keystone-user', user, '--keystone-group', user],
    ['bootstrap', '--bootstrap-password', admin_password, '--bootstrap-username', 'admin',
     '--bootstrap-project-name', 'admin', '--bootstrap-role-name', 'admin', '--bootstrap-region-id', region,
     '--bootstrap-public-url', 'http://127.0.0.1:%s/v3' % port],
):
    cli.CONF.clear()  # oslo.config parses the command line once per configuration object
    cli.main(['keystone-manage', '--config-file', config] + command)

cli.CONF.clear()
cli.CONF.unregister_opt(cli.command_opt)  # the app parses the command line too, without a command
provider_api.ProviderAPIs._clear_registry_instances()  # bootstrap locked it; the app registers its own
del sys.argv[1:]
server = simple_server.make_server('127.0.0.1', int(port), initialize_public_application())
print('keystone serving on 127.0.0.1:%s' % port, flush=True)
server.serve_forever()
