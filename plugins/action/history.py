# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Action plugin of the history module: hands the play's vault password to the module when secrets are asked
for. The module encrypts and decrypts in its own memory (module_utils/workflows/ansible_vault_file.py), so no secret entry
travels in clear between the module and the controller, and none is written in clear (docs/history.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        arguments = dict(self._task.args)
        if boolean(arguments.get('secrets', False), strict=False) and not arguments.get('vault_password'):
            arguments['vault_password'] = self._vault_password(arguments.get('vault_id'))
        result.update(self._execute_module(module_args=arguments, task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _vault_password(self, vault_id):
        """The password of the play's vault secret ``vault_id``, or of its only one."""
        secrets = [(identity, secret.bytes) for identity, secret in self._loader._vault.secrets or []
                   if vault_id is None or identity == vault_id]
        passwords = set(password for _identity, password in secrets if password)
        if not passwords:
            raise AnsibleActionFail('secrets=true needs the play\'s vault secret%s: run ansible-playbook with '
                                    '--ask-vault-pass, --vault-password-file or --vault-id'
                                    % (' with vault id %s' % vault_id if vault_id else ''))
        if len(passwords) > 1:
            raise AnsibleActionFail('the play has several vault secrets (%s); set vault_id to the one to use'
                                    % ', '.join(sorted(set(identity for identity, _password in secrets))))
        return to_text(passwords.pop(), errors='surrogate_or_strict')
