"""Open a page in real headless Chromium (Debian's `chromium`) and ask it what it loaded.

No driver and no websocket library: Chromium speaks the DevTools protocol over two pipes with
`--remote-debugging-pipe` (commands on fd 3, replies on fd 4, each JSON message ending in NUL).
The page is loaded with the network domain on, so every failed request (a missing image, a
stylesheet, a font) is reported, and then questions are asked with Runtime.evaluate.
Every read has a deadline; the browser is always killed.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="tinygen-chromium-")
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def wire():                      # in the child: fd 3 = commands in, fd 4 = replies out
            r, w = os.dup(cmd_r), os.dup(resp_w)     # out of the way of 3 and 4 first
            os.dup2(r, 3)
            os.dup2(w, 4)

        # pass_fds keeps 3 and 4 open: subprocess closes the other fds after preexec_fn runs.
        self.proc = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], preexec_fn=wire,
                                     pass_fds=tuple({3, 4, cmd_r, resp_w}),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        os.close(cmd_r)
        os.close(resp_w)
        self._buf, self._id, self.events = b"", 0, []

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        for fd in (self._cmd_w, self._resp_r):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._resp_r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._resp_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + self.timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            e = self._read(deadline)
            if e.get("method") == method and e.get("sessionId") == session:
                return e
            self.events.append(e)

    def load(self, url: str) -> "Page":
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session)
        self.send("Page.navigate", session, url=url)
        self.wait_for("Page.loadEventFired", session)
        return Page(self, session)


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser, self.session = browser, session

    def evaluate(self, expression: str):
        r = self.browser.send("Runtime.evaluate", self.session, expression=expression,
                              returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def failed_requests(self) -> list[str]:
        """URLs the page asked for and did not get (network failures and HTTP errors)."""
        requests = {e["params"]["requestId"]: e["params"]["request"]["url"]
                    for e in self.browser.events
                    if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == self.session}
        bad = []
        for e in self.browser.events:
            if e.get("sessionId") != self.session:
                continue
            if e.get("method") == "Network.loadingFailed":
                bad.append(requests.get(e["params"]["requestId"], "?"))
            elif e.get("method") == "Network.responseReceived" and e["params"]["response"].get("status", 200) >= 400:
                bad.append(e["params"]["response"]["url"])
        return bad

    def screenshot(self, path) -> None:
        import base64
        data = self.browser.send("Page.captureScreenshot", self.session, captureBeyondViewport=True)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data["data"]))
