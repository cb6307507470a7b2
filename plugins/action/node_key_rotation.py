# -*- coding: utf-8 -*-
# Copyright: tailnet.headscale contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Controller side of tailnet.headscale.node_key_rotation: the site's headscale paths from the host's variables
where the call does not set them (plugin_utils/site_paths.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tailnet.headscale.plugins.plugin_utils.site_paths import HeadscaleAction


class ActionModule(HeadscaleAction):
    MODULE = "tailnet.headscale.node_key_rotation"
