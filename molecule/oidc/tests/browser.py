"""A person at a browser, headless: open a login URL, fill in the OpenID provider's login form,
confirm the registration on headscale's page, with one cookie jar throughout. Runs in the
container (python3 only, no packages): `python3 browser.py URL USERNAME PASSWORD`. Prints each
redirect and each page's URL and status; exits 0 when headscale said the registration succeeded, 3 when a page
answered with an error (its status and text are printed), 4 when a page had no form to go on."""

import html.parser
import http.cookiejar
import sys
import urllib.error
import urllib.parse
import urllib.request


class Forms(html.parser.HTMLParser):
    def __init__(self):
        html.parser.HTMLParser.__init__(self)
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "method": (attrs.get("method") or "get").lower(),
                               "fields": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


class ShowRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects as a browser does, printing each (the authorization request's PKCE parameters)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        print("REDIRECT %s %s" % (code, newurl))
        return urllib.request.HTTPRedirectHandler.redirect_request(self, req, fp, code, msg, headers, newurl)


def main(url, username, password):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), ShowRedirects())
    data = None
    for _step in range(6):
        try:
            response = opener.open(url, data=data, timeout=30)
        except urllib.error.HTTPError as error:
            print("ERROR %s %s %s" % (error.code, error.geturl(), error.read().decode("utf-8", "replace")[:2000]))
            return 3
        url, page = response.geturl(), response.read().decode("utf-8", "replace")
        print("PAGE %s %s" % (response.status, url))
        parser = Forms()
        parser.feed(page)
        form = next((f for f in parser.forms if f["method"] == "post"), None)
        if form is None:
            print("TEXT %s" % " ".join(page.split())[:2000])
            return 0 if "/register/confirm/" in url else 4
        fields = dict(form["fields"])
        if "username" in fields or "password" in fields:
            fields.update(username=username, password=password)
        url, data = urllib.parse.urljoin(url, form["action"]), urllib.parse.urlencode(fields).encode()
    return 4


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
