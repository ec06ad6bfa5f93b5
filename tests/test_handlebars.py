"""The Handlebars subset the local endpoint renders SES templates with."""

from __future__ import annotations

import pytest

from sesclient.local._handlebars import (
    MissingVariable,
    TemplateError,
    TemplateSyntaxError,
    compile_template,
    render,
)

DATA = {
    "name": "Ann & <Bob>",
    "quote": 'it\'s "x" `y` = z',
    "user": {"first": "Una", "address": {"city": "Oslo"}, "tags": ["a", "b"]},
    "items": [{"n": "apple", "price": 1.5}, {"n": "pear", "price": 2.0}],
    "empty": [],
    "zero": 0,
    "flag": True,
    "off": False,
    "nothing": None,
    "blank": "",
    "obj": {"x": 1, "y": 2},
    "emptyobj": {},
    "nums": [1, 2.0, 3.25],
}


def r(template: str, data=DATA, **kwargs) -> str:
    return render(template, data, **kwargs)


# --- variables ---------------------------------------------------------------------


def test_escaping_and_raw_output():
    assert r("{{name}}") == "Ann &amp; &lt;Bob&gt;"
    assert r("{{{name}}}") == "Ann & <Bob>"
    assert r("{{& name}}") == "Ann & <Bob>"
    assert r("{{quote}}") == "it&#x27;s &quot;x&quot; &#x60;y&#x60; &#x3D; z"
    assert r("{{name}}", escape_html=False) == "Ann & <Bob>"


def test_nested_paths_and_forms():
    assert r("{{user.first}} {{user.address.city}}") == "Una Oslo"
    assert r("{{user/address/city}}") == "Oslo"
    assert r("{{this.user.first}} {{./user.first}}") == "Una Una"
    assert r("{{user.tags.[1]}} {{user.tags.0}} {{items.length}}") == "b a 2"
    assert r("{{[user].[first]}}") == "Una"
    assert r("{{#with user}}{{this.first}}{{/with}}") == "Una"


def test_value_formatting_follows_javascript():
    assert r("{{flag}} {{off}} {{zero}} {{nothing}}|") == "true false 0 |"
    assert r("{{nums}}") == "1,2,3.25"
    assert r("{{obj}}") == "[object Object]"
    assert r("{{x}}", {"x": 1e21}) == "1e+21"
    assert r("{{x}}", {"x": float("nan")}) == "NaN"


def test_missing_variable_error_and_empty_modes():
    with pytest.raises(MissingVariable) as info:
        r("Hello {{user.last}}!")
    assert info.value.name == "user.last"
    assert info.value.line == 1
    assert isinstance(info.value, TemplateError)
    with pytest.raises(MissingVariable) as info:
        r("line1\n{{{ghost}}}")
    assert info.value.name == "ghost"
    assert info.value.line == 2
    assert r("Hello {{user.last}}!", missing="empty") == "Hello !"
    # Present but null is not missing.
    assert r("[{{nothing}}]") == "[]"


def test_missing_mode_is_checked():
    with pytest.raises(ValueError):
        r("x", missing="ignore")


def test_conditions_on_missing_values_are_false_not_errors():
    assert r("{{#if ghost}}y{{else}}n{{/if}}") == "n"
    assert r("{{#each ghost}}y{{else}}none{{/each}}") == "none"
    assert r("{{#unless ghost.deep}}u{{/unless}}") == "u"


# --- blocks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "truthy"),
    [
        ("flag", True),
        ("off", False),
        ("zero", False),
        ("nothing", False),
        ("blank", False),
        ("empty", False),
        ("emptyobj", True),
        ("obj", True),
        ("name", True),
        ("ghost", False),
    ],
)
def test_if_unless_truthiness(key, truthy):
    assert r(f"{{{{#if {key}}}}}T{{{{else}}}}F{{{{/if}}}}") == ("T" if truthy else "F")
    assert r(f"{{{{#unless {key}}}}}U{{{{else}}}}N{{{{/unless}}}}") == ("N" if truthy else "U")


def test_if_include_zero_and_else_chains():
    assert r("{{#if zero includeZero=true}}z{{else}}n{{/if}}") == "z"
    template = "{{#if off}}a{{else if zero}}b{{else if flag}}c{{else}}d{{/if}}"
    assert r(template) == "c"
    assert r(template, {"zero": 1}) == "b"
    assert r(template, {}) == "d"
    assert r("{{#if off}}a{{else unless flag}}b{{else}}c{{/if}}") == "c"
    assert r("{{#if off}}a{{^}}b{{/if}}") == "b"


def test_each_over_lists():
    template = (
        "{{#each items}}{{@index}}:{{n}}={{price}}"
        "{{#if @first}}F{{/if}}{{#if @last}}L{{/if}};{{/each}}"
    )
    assert r(template) == "0:apple=1.5F;1:pear=2L;"
    assert r("{{#each user.tags}}<{{this}}>{{/each}}") == "<a><b>"
    assert r("{{#each user.tags}}{{.}}{{/each}}") == "ab"
    assert r("{{#each empty}}x{{else}}none{{/each}}") == "none"


def test_each_over_objects_and_block_params():
    assert r("{{#each obj}}{{@key}}={{this}},{{/each}}") == "x=1,y=2,"
    assert r("{{#each items as |item i|}}{{i}}{{item.n}} {{/each}}") == "0apple 1pear "
    assert r("{{#each obj as |value key|}}{{key}}{{value}}{{/each}}") == "x1y2"
    assert r("{{#with user as |u|}}{{u.first}}{{/with}}") == "Una"


def test_parent_and_root_access():
    template = "{{#each items}}{{n}}/{{../user.first}}/{{@root.user.address.city}} {{/each}}"
    assert r(template) == "apple/Una/Oslo pear/Una/Oslo "
    # {{#if}} does not add a context level, so ../ still means the each's parent.
    assert r("{{#each items}}{{#if n}}{{../user.first}}{{/if}}{{/each}}") == "UnaUna"
    nested = {"outer": [{"inner": [1, 2], "tag": "o"}]}
    assert r(
        "{{#each outer}}{{#each inner}}{{this}}{{../tag}}{{@index}}{{/each}}{{/each}}", nested
    ) == ("1o02o1")


def test_with_and_sections():
    assert r("{{#with user.address}}{{city}}{{/with}}") == "Oslo"
    assert r("{{#with ghost}}x{{else}}no{{/with}}") == "no"
    assert r("{{#items}}[{{n}}]{{/items}}") == "[apple][pear]"
    assert r("{{#user}}{{first}}{{/user}}") == "Una"
    assert r("{{#flag}}yes{{/flag}}{{#off}}no{{/off}}") == "yes"
    assert r("{{^empty}}nothing{{/empty}}{{^items}}hidden{{/items}}") == "nothing"
    assert r("{{#empty}}x{{else}}e{{/empty}}") == "e"


def test_lookup_helper():
    assert r("{{lookup user.tags 1}}") == "b"
    assert r('{{lookup user "first"}}') == "Una"
    assert r("{{#each items}}{{lookup ../obj @index}}{{/each}}", {"items": [0], "obj": ["z"]}) == (
        "z"
    )
    assert r("[{{lookup user 'ghost'}}]") == "[]"


def test_inline_partials():
    template = (
        '{{#*inline "row"}}<{{n}}>{{/inline}}{{#each items}}{{> row}}{{/each}}|{{> row user}}'
    )
    assert r(template, {"items": [{"n": 1}, {"n": 2}], "user": {"n": "u"}}) == "<1><2>|<u>"
    with pytest.raises(TemplateSyntaxError, match="not defined"):
        r("{{> nope}}")


def test_comments_and_escaped_mustaches():
    assert r("a{{! a comment }}b{{!-- has }} inside --}}c") == "abc"
    assert r("\\{{name}} is literal") == "{{name}} is literal"
    assert r("\\\\{{zero}}") == "\\0"


def test_whitespace_control():
    assert r("a  {{~zero~}}  b") == "a0b"
    assert r("a \n {{~#if flag~}} \n x \n {{~/if~}} \n b") == "axb"
    assert r("{{~{name}~}} !", escape_html=False) == "Ann & <Bob>!"


def test_standalone_block_lines_are_removed():
    template = "<ul>\n  {{#each items}}\n  <li>{{n}}</li>\n  {{/each}}\n</ul>\n"
    assert r(template) == "<ul>\n  <li>apple</li>\n  <li>pear</li>\n</ul>\n"
    template = "{{#if flag}}\nyes\n{{else}}\nno\n{{/if}}\n"
    assert r(template) == "yes\n"
    # A tag sharing its line with text is not standalone.
    assert r("x {{#if flag}}\ny{{/if}}") == "x \ny"
    assert r("{{! note }}\nbody") == "body"
    # Inline mustaches never are.
    assert r("{{zero}}\n") == "0\n"


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{#if flag}}x", "never closed"),
        ("x{{/if}}", "closes no open block"),
        ("{{#if a}}{{/unless}}", "does not match"),
        ("{{else}}", "outside a block"),
        ("{{name", "unterminated"),
        ("{{{name}}", "unterminated"),
        ("{{!-- open", "unterminated comment"),
        ("{{}}", "empty expression"),
        ("{{foo bar}}", "unknown helper"),
        ("{{#each}}{{/each}}", "exactly one argument"),
        ("{{#if a b}}{{/if}}", "exactly one argument"),
        ("{{#custom a}}{{/custom}}", "unknown block helper"),
        ("{{#if a}}x{{else}}y{{else}}z{{/if}}", "two {{else}}"),
        ("{{a..b}}", "invalid path"),
        ("{{(sub x)}}", "sub-expressions"),
        ("{{#if (eq a b)}}{{/if}}", "sub-expressions"),
        ("{{#> layout}}{{/layout}}", "partial blocks"),
        ('{{#*inline "p"}}x', "never closed"),
        ("{{#if a as |x|}}{{/if}}", "block parameters"),
        ("{{lookup a}}", "lookup"),
        ("{{#if a}}{{else foo}}{{/if}}", "unknown helper"),
    ],
)
def test_syntax_errors(template, message):
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template(template)
    assert message in str(info.value)
    assert info.value.line == 1
    assert isinstance(info.value, ValueError)


def test_syntax_error_reports_line():
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template("a\nb\n{{/each}}")
    assert info.value.line == 3
    assert str(info.value).startswith("line 3:")


def test_compiled_templates_are_cached_and_reusable():
    source = "Hi {{who}}"
    first = compile_template(source)
    assert compile_template(source) is first
    assert first.render({"who": "a"}) == "Hi a"
    assert first.render({"who": "b"}) == "Hi b"
    with pytest.raises(TypeError):
        compile_template(b"bytes")  # type: ignore[arg-type]


def test_ses_style_template():
    subject = "Order {{order.id}} for {{customer.name}}"
    html = (
        "<h1>Hi {{customer.name}},</h1>\n"
        "{{#if order.items}}\n"
        "<table>\n"
        "{{#each order.items}}\n"
        "  <tr><td>{{@index}}</td><td>{{name}}</td><td>{{qty}}</td></tr>\n"
        "{{/each}}\n"
        "</table>\n"
        "{{else}}\n"
        "<p>No items.</p>\n"
        "{{/if}}\n"
        "{{#unless customer.vip}}<p>Join VIP!</p>{{/unless}}"
    )
    data = {
        "order": {"id": 42, "items": [{"name": "Tea & Co", "qty": 2}]},
        "customer": {"name": "O'Neil", "vip": False},
    }
    assert render(subject, data, escape_html=False) == "Order 42 for O'Neil"
    assert render(html, data) == (
        "<h1>Hi O&#x27;Neil,</h1>\n"
        "<table>\n"
        "  <tr><td>0</td><td>Tea &amp; Co</td><td>2</td></tr>\n"
        "</table>\n"
        "<p>Join VIP!</p>"
    )
    data["order"]["items"] = []
    assert "No items." in render(html, data)
