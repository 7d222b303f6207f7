"""A page fragment as a comparable tree: elements with their attributes (classes and
aria-describedby as sets: their order means nothing), texts with whitespace collapsed."""

from html.parser import HTMLParser

_VOID = {"input", "br", "img", "meta", "link", "hr"}
_SETS = {"class", "aria-describedby"}


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = ("root", (), [])
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        shown = tuple(
            sorted(
                (k, frozenset((v or "").split()) if k in _SETS else (v if v is not None else True))
                for k, v in attrs
            )
        )
        node = (tag, shown, [])
        self.stack[-1][2].append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        if tag not in _VOID and len(self.stack) > 1:
            self.stack.pop()

    def handle_data(self, data):
        text = " ".join(data.split())
        if text:
            self.stack[-1][2].append(text)


def html_tree(html: str):
    parser = _Tree()
    parser.feed(html)
    parser.close()
    return parser.root
