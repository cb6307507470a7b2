# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: tag_problems
short_description: What is wrong with a list of ACL tags, by the collection's one tag rule
version_added: 0.1.0
description:
  - Checks each tag with the rule the modules use (module_utils/validation.py) - C(tag:), then a lowercase
    letter, then lowercase letters, digits, C(-) or C(_) - which is what headscale accepts on keys and nodes.
options:
  _input:
    description: The tags.
    type: list
    elements: str
    required: true
  option:
    description: The variable the tags come from, named in each message.
    type: str
    default: tags
"""

EXAMPLES = r"""
- name: Refuse malformed tags
  ansible.builtin.assert:
    that: tailscale_tags | tailnet.headscale.tag_problems('tailscale_tags') | length == 0
"""

RETURN = r"""
_value:
  description: One message per bad tag, naming it and the fix; empty when all are good.
  type: list
  elements: str
"""

from ansible_collections.tailnet.headscale.plugins.module_utils.validation import tags_problems


def tag_problems(tags, option="tags"):
    return tags_problems(tags, option)


class FilterModule(object):
    def filters(self):
        return {"tag_problems": tag_problems}
