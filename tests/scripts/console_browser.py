"""Drives the web console of `spaces serve` in a real browser (Debian's chromium through chromedriver, with
Selenium), as a person would, for tests/tests/console.rs.

Usage: console_browser.py URL TOKEN WORKDIR SCREENSHOT. The service at URL must hold `docs/inner/readme.txt`,
`many/000.txt` to `many/204.txt` and an object named `<img src=x onerror=alert(1)>.txt` (the Rust test puts them
there through the API). Every check
that fails raises; the last line printed is one JSON object of facts (the browser's version among them).
"""

import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

URL, TOKEN, WORKDIR, SCREENSHOT = sys.argv[1:5]
HOSTILE = "<img src=x onerror=alert(1)>.txt"


def browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1280,900", f"--user-data-dir={os.path.join(WORKDIR, 'profile')}"]:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return driver


def api(method, path, body=None):
    request = urllib.request.Request(URL + path, data=body, method=method,
                                     headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def rows(driver):
    """The listing's rows as {name: size in bytes, or None for a folder}, read in one go (the page re-renders)."""
    return driver.execute_script("""
        const found = {};
        for (const tr of document.querySelectorAll("#rows tr")) {
          const cells = tr.querySelectorAll("td");
          const title = cells[2].getAttribute("title");
          found[cells[1].textContent] = title ? Number(title.split(" ")[0]) : null;
        }
        return found;""")


def in_row(driver, name, selector):
    """Clicks the element `selector` in the row of `name`, once that row is there and holds still."""
    def attempt(d):
        for tr in d.find_elements(By.CSS_SELECTOR, "#rows tr"):
            if tr.find_elements(By.TAG_NAME, "td")[1].text == name:
                tr.find_element(By.CSS_SELECTOR, selector).click()
                return True
        return False
    WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException]).until(attempt)


def click(driver, name, label):
    in_row(driver, name, f"button[data-action='{label}']")


def no_alert(driver):
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return
    raise AssertionError(f"an alert opened: {text!r}")


def main():
    downloads = os.path.join(WORKDIR, "downloads")
    os.makedirs(downloads, exist_ok=True)
    driver = browser(downloads)
    wait = WebDriverWait(driver, 60)
    facts = {"browser": driver.capabilities.get("browserVersion")}
    try:
        driver.get(URL + "/")
        policy = urllib.request.urlopen(URL + "/", timeout=10).headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy

        # A wrong token is refused and says so; the right one opens the bucket.
        wait.until(ec.visibility_of_element_located((By.ID, "token"))).send_keys("not-the-token")
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "sign-in-error"), "not this service's token"))
        assert not driver.find_element(By.ID, "browser").is_displayed()
        token_field = driver.find_element(By.ID, "token")
        token_field.clear()
        token_field.send_keys(TOKEN)
        driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
        wait.until(ec.visibility_of_element_located((By.ID, "browser")))
        assert TOKEN not in driver.current_url
        assert driver.execute_script("return sessionStorage.getItem('spaces-token')") == TOKEN

        # Keys shown as text: the hostile name is a row, not an image, and nothing ran.
        wait.until(lambda d: HOSTILE in rows(d))
        assert driver.find_elements(By.CSS_SELECTOR, "#rows img") == []
        no_alert(driver)

        # Two files through the file input, listed with their sizes.
        sizes = {"alpha.txt": 1234, "beta.bin": 70_000}
        paths = []
        for name, size in sizes.items():
            path = os.path.join(WORKDIR, name)
            with open(path, "wb") as f:
                f.write(os.urandom(size))
            paths.append(path)
        driver.find_element(By.ID, "file-input").send_keys("\n".join(paths))
        wait.until(lambda d: all(rows(d).get(n) == s for n, s in sizes.items()))

        # A folder opens, with breadcrumbs back.
        in_row(driver, "docs/", "a.folder")
        wait.until(lambda d: "inner/" in rows(d))
        assert driver.find_element(By.ID, "crumbs").text == "bucket/docs", driver.find_element(By.ID, "crumbs").text
        driver.find_element(By.LINK_TEXT, "bucket").click()
        wait.until(lambda d: "beta.bin" in rows(d))

        # A folder longer than a page: 200 entries, then the rest, and back.
        in_row(driver, "many/", "a.folder")
        wait.until(lambda d: len(rows(d)) == 200 and "000.txt" in rows(d))
        assert driver.find_element(By.ID, "prev-page").get_attribute("disabled") is not None
        driver.find_element(By.ID, "next-page").click()
        wait.until(lambda d: sorted(rows(d)) == ["200.txt", "201.txt", "202.txt", "203.txt", "204.txt"])
        assert driver.find_element(By.ID, "page-number").text == "page 2"
        assert driver.find_element(By.ID, "next-page").get_attribute("disabled") is not None
        driver.find_element(By.ID, "prev-page").click()
        wait.until(lambda d: len(rows(d)) == 200 and "199.txt" in rows(d))
        driver.find_element(By.LINK_TEXT, "bucket").click()
        wait.until(lambda d: "beta.bin" in rows(d))

        # The filter narrows the folder to matching names.
        driver.find_element(By.ID, "filter").send_keys("alp")
        wait.until(lambda d: list(rows(d)) == ["alpha.txt"])
        driver.find_element(By.ID, "filter").clear()
        driver.find_element(By.ID, "refresh").click()
        wait.until(lambda d: "beta.bin" in rows(d))

        # Download: the same bytes.
        click(driver, "beta.bin", "Download")
        target = os.path.join(downloads, "beta.bin")
        deadline = time.time() + 60
        while not (os.path.exists(target) and os.path.getsize(target) == sizes["beta.bin"]):
            assert time.time() < deadline, os.listdir(downloads)
            time.sleep(0.2)
        with open(target, "rb") as got, open(paths[1], "rb") as sent:
            assert got.read() == sent.read(), "downloaded bytes differ"

        # A share link works without the token.
        click(driver, "alpha.txt", "Share")
        wait.until(ec.visibility_of_element_located((By.ID, "share")))
        driver.find_element(By.CSS_SELECTOR, "#share-expiry option[value='86400']").click()
        driver.find_element(By.ID, "share-create").click()
        wait.until(lambda d: d.find_element(By.ID, "share-url").get_attribute("value").startswith("http"))
        link = driver.find_element(By.ID, "share-url").get_attribute("value")
        assert "X-Amz-Expires=86400" in link, link
        with urllib.request.urlopen(link, timeout=30) as shared, open(paths[0], "rb") as sent:
            assert shared.read() == sent.read()
        assert driver.find_element(By.ID, "public-url").get_attribute("value").endswith("/alpha.txt")
        driver.find_element(By.CSS_SELECTOR, "#share button[value='close']").click()

        # Delete one, confirmed; it is gone from the page and the store.
        click(driver, "alpha.txt", "Delete")
        wait.until(ec.alert_is_present())
        driver.switch_to.alert.accept()
        wait.until(lambda d: "alpha.txt" not in rows(d))
        assert api("HEAD", "/v1/objects/alpha.txt")[0] == 404

        # A 50 MB upload streams through the service; its bar reaches the end.
        big = os.path.join(WORKDIR, "big.bin")
        with open(big, "wb") as f:
            for _ in range(50):
                f.write(os.urandom(1 << 20))
        driver.find_element(By.ID, "file-input").send_keys(big)
        bar = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#uploads li[data-key='big.bin'] progress"))
        WebDriverWait(driver, 300).until(
            lambda d: bar.get_attribute("value") == bar.get_attribute("max") == str(50 << 20)
            and "done" in d.find_element(By.CSS_SELECTOR, "#uploads li[data-key='big.bin'] .info").text)
        wait.until(lambda d: rows(d).get("big.bin") == 50 << 20)
        with open(big, "rb") as f:
            local = hashlib.sha256(f.read()).hexdigest()
        assert hashlib.sha256(api("GET", "/v1/objects/big.bin")[1]).hexdigest() == local

        # Status from /readyz and /metrics.
        wait.until(ec.text_to_be_present_in_element((By.ID, "ready-text"), "ready · upstream"))
        wait.until(ec.text_to_be_present_in_element((By.ID, "ready-text"), "circuit closed"))
        wait.until(ec.text_to_be_present_in_element((By.ID, "counters"), "requests served"))
        facts["status"] = driver.find_element(By.ID, "status").text

        driver.save_screenshot(SCREENSHOT)

        # Several selected at once, deleted in one batch.
        for name in ["beta.bin", "big.bin"]:
            in_row(driver, name, "input.pick")
        driver.find_element(By.ID, "delete-selected").click()
        wait.until(ec.alert_is_present())
        driver.switch_to.alert.accept()
        wait.until(lambda d: "beta.bin" not in rows(d) and "big.bin" not in rows(d))
        no_alert(driver)
        facts["rows"] = sorted(rows(driver))
    finally:
        driver.quit()
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
