"""Hook API versioning: a renamed host hook keeps working for a release with a warning naming its
replacement; a plugin publishes its own hookspecs (with a retired argument) and another answers them
with ``optionalhook=True``, with or without the publisher installed."""

from __future__ import annotations

import warnings

import pytest
from fx_pub.api import channels as collect_channels

from voronka.core.plugins import PluginHost, module_source

RENAMED = {"sidebar_items": ("nav_items", "1.1")}


def nav_keys(host: PluginHost) -> list[str]:
    return [item.key for batch in host.hook.nav_items(request=None) for item in batch]


def test_a_renamed_hook_still_works_and_warns_naming_its_replacement():
    with pytest.warns(DeprecationWarning, match=r"implements the hook 'sidebar_items', renamed to 'nav_items'") as w:
        host = PluginHost([module_source("fx_legacy")], renamed_hooks=RENAMED)
    assert "in hook API 1.1; rename the function" in str(w[0].message)
    assert host.plugins["fx_legacy"].loaded
    assert nav_keys(host) == ["fx_legacy.index"]
    host.pm.check_pending()


def test_after_the_deprecation_release_the_old_name_is_an_unknown_hook():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning any more: the old name simply matches nothing
        host = PluginHost([module_source("fx_legacy")], renamed_hooks={})
    assert not host.plugins["fx_legacy"].loaded
    assert "sidebar_items matches no hook" in host.plugins["fx_legacy"].error
    assert nav_keys(host) == []
    host.pm.check_pending()


def channels(host: PluginHost) -> list[str]:
    return sorted(c["key"] for c in collect_channels(host, ["web", "phone"]))


def test_a_plugin_publishes_hookspecs_another_answers_them():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host = PluginHost([module_source("fx_sub"), module_source("fx_sub_strict"), module_source("fx_pub")])
    assert not host.failed
    assert host.order == ["fx_pub", "fx_sub", "fx_sub_strict"]  # `optional` orders fx_sub after fx_pub
    host.pm.check_pending()
    assert channels(host) == ["fx_sub.web_form", "fx_sub_strict.chat"]
    spec = host.pm.hook.fx_pub_channels.spec
    assert spec is not None and "Called by fx_pub" in (spec.function.__doc__ or "")


def test_an_optionalhook_answer_works_without_the_publisher():
    host = PluginHost([module_source("fx_sub"), module_source("fx_sub_strict")])
    assert host.plugins["fx_sub"].loaded  # optionalhook=True: nothing to answer, nothing wrong
    assert nav_keys(host) == ["fx_sub.index"]
    host.pm.check_pending()
    # without optionalhook=True the same answer is an unknown hook: that plugin alone is disabled
    assert "fx_pub_channels matches no hook" in host.plugins["fx_sub_strict"].error
    assert "mark it optionalhook=True" in host.plugins["fx_sub_strict"].error


def test_a_retired_argument_still_works_and_warns_naming_its_replacement():
    with pytest.warns(DeprecationWarning, match=r"'channel_type' is retired since fx_pub 1\.1.*take 'kinds'"):
        host = PluginHost([module_source("fx_pub"), module_source("fx_sub"), module_source("fx_sub_legacy")])
    assert not host.failed
    assert channels(host) == ["fx_sub.web_form", "fx_sub_legacy.phone"]  # the publisher still passes it
    host.pm.check_pending()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # without the publisher there is no spec, so nothing to warn about
        alone = PluginHost([module_source("fx_sub_legacy")])
    assert alone.plugins["fx_sub_legacy"].loaded
