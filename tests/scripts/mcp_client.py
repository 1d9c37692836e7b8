"""Drives `spaces mcp` with the official MCP Python SDK, as an assistant's client would, for tests/tests/mcp.rs.

Usage: mcp_client.py SCENARIO. The server is $SPACES_BIN; its configuration (endpoint, bucket, credentials,
DigitalOcean API) comes from this process's environment. Each scenario checks what it can see through the protocol
and prints one JSON line of facts for the Rust test to check against the store; any failed check raises.
"""

import asyncio
import base64
import json
import os
import sys
import urllib.error
import urllib.request

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

ALL_TOOLS = {
    "list_objects", "head_object", "get_object", "put_object", "delete_object", "presign_url", "object_url",
    "list_uploads", "abort_upload", "list_buckets", "get_acl", "set_acl", "get_cors", "set_cors", "presign_post",
    "cdn_list", "cdn_purge", "keys_list", "keys_create", "keys_delete",
}
READ_ONLY_TOOLS = {
    "list_objects", "head_object", "get_object", "presign_url", "object_url", "list_uploads", "list_buckets",
    "get_acl", "get_cors", "presign_post", "cdn_list", "keys_list",
}
DESTRUCTIVE_TOOLS = {"put_object", "delete_object", "abort_upload", "set_acl", "set_cors", "keys_delete"}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def server(*args, mode="auto", **env):
    """A client for a fresh `spaces mcp` process with extra ARGS and environment overrides (None removes)."""
    environment = dict(os.environ)
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    params = StdioServerParameters(command=os.environ["SPACES_BIN"], args=["mcp", *args], env=environment)
    return Client(params, mode=mode, read_timeout_seconds=60)


async def call(client, tool, args=None, **kw):
    """Calls a tool that must succeed; returns the result."""
    result = await client.call_tool(tool, args or {}, **kw)
    assert not result.is_error, f"{tool} {args} failed: {result.content}"
    return result


async def fails(client, tool, args, *needles):
    """Calls a tool that must fail as a tool error whose text contains every needle; returns the text."""
    result = await client.call_tool(tool, args)
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert result.is_error, f"{tool} {args} should have failed, got {result.content}"
    for needle in needles:
        assert needle in text, f"{tool} {args}: {needle!r} not in {text!r}"
    return text


def fetch(url, method="GET", data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


async def tools_and_objects(mode):
    async with server(mode=mode) as c:
        assert c.server_info.name == "spaces", c.server_info
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert set(tools) == ALL_TOOLS, sorted(tools)
        for name, t in tools.items():
            assert t.description and t.input_schema["type"] == "object", name
            assert t.annotations.read_only_hint == (name in READ_ONLY_TOOLS), name
            assert t.annotations.destructive_hint == (name in DESTRUCTIVE_TOOLS), name
        assert tools["put_object"].input_schema["required"] == ["key"]

        # Text in, text out; metadata and headers kept.
        put = await call(c, "put_object", {"key": "notes/hello.txt", "text": "héllo, spaces\n",
                                            "metadata": {"owner": "mcp"}, "cache_control": "max-age=60"})
        assert put.structured_content["size"] == len("héllo, spaces\n".encode()), put.structured_content
        got = await call(c, "get_object", {"key": "notes/hello.txt"})
        assert got.content[0].type == "text" and got.content[0].text == "héllo, spaces\n", got.content
        head = (await call(c, "head_object", {"key": "notes/hello.txt"})).structured_content
        assert head["metadata"] == {"owner": "mcp"} and head["cache_control"] == "max-age=60", head
        assert head["content_type"].startswith("text/plain"), head

        # Nothing is replaced unless asked.
        await fails(c, "put_object", {"key": "notes/hello.txt", "text": "clobbered"}, "already exists", "overwrite")
        await call(c, "put_object", {"key": "notes/hello.txt", "text": "replaced", "overwrite": True})

        # Binary in as base64: bytes come back as a blob, a PNG as an image.
        blob = bytes(range(256))
        await call(c, "put_object", {"key": "data/all-bytes.bin", "base64": base64.b64encode(blob).decode()})
        got = (await call(c, "get_object", {"key": "data/all-bytes.bin"})).content[0]
        assert got.type == "resource" and base64.b64decode(got.resource.blob) == blob, got
        assert got.resource.uri == f"spaces://{os.environ['SPACES_BUCKET']}/data/all-bytes.bin", got.resource.uri
        await call(c, "put_object", {"key": "img/dot.png", "base64": base64.b64encode(PNG).decode()})
        got = (await call(c, "get_object", {"key": "img/dot.png"})).content[0]
        assert got.type == "image" and got.mime_type == "image/png" and base64.b64decode(got.data) == PNG, got
        got = (await call(c, "get_object", {"key": "img/dot.png", "format": "base64"})).content[0]
        assert got.type == "resource" and base64.b64decode(got.resource.blob) == PNG, got
        await fails(c, "get_object", {"key": "data/all-bytes.bin", "format": "text"}, "not UTF-8")
        link = (await call(c, "get_object", {"key": "img/dot.png", "format": "link"})).content[0]
        assert link.type == "resource_link" and link.size == len(PNG) and link.mime_type == "image/png", link

        # Listing: pages with a cursor, prefixes with a delimiter.
        keys, cursor = [], None
        while True:
            args = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await call(c, "list_objects", args)).structured_content
            assert len(page["objects"]) <= 2, page
            keys += [o["key"] for o in page["objects"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert keys == ["data/all-bytes.bin", "img/dot.png", "notes/hello.txt"], keys
        page = (await call(c, "list_objects", {"delimiter": "/"})).structured_content
        assert page["prefixes"] == ["data/", "img/", "notes/"] and page["objects"] == [], page

        # URLs: a presigned GET and PUT work without credentials; the public URL names the object.
        url = (await call(c, "presign_url", {"key": "notes/hello.txt"})).structured_content["url"]
        assert fetch(url) == (200, b"replaced")
        put_url = (await call(c, "presign_url", {"key": "notes/via-url.txt", "method": "put",
                                                 "expires_seconds": 60})).structured_content["url"]
        assert fetch(put_url, "PUT", b"sent with a presigned URL", {"Content-Type": "text/plain"})[0] == 200
        got = await call(c, "get_object", {"key": "notes/via-url.txt"})
        assert got.content[0].text == "sent with a presigned URL", got.content
        public = (await call(c, "object_url", {"key": "notes/hello.txt"})).structured_content["url"]
        assert public.endswith("/notes/hello.txt") and "X-Amz-Signature" not in public, public

        # Delete: gone afterwards, and deleting again still succeeds.
        await call(c, "delete_object", {"key": "notes/via-url.txt"})
        await call(c, "delete_object", {"key": "notes/via-url.txt"})
        await fails(c, "head_object", {"key": "notes/via-url.txt"}, "not found")
        return {"protocol": c.protocol_version}


async def scenario_objects():
    facts = await tools_and_objects("auto")
    # An older client's initialize handshake gets the same server.
    legacy = server(mode="legacy")
    async with legacy as c:
        assert {t.name for t in (await c.list_tools()).tools} == ALL_TOOLS
        assert (await call(c, "get_object", {"key": "notes/hello.txt"})).content[0].text == "replaced"
        facts["legacy_protocol"] = c.protocol_version
    return facts


async def scenario_resources():
    bucket = os.environ["SPACES_BUCKET"]
    key = "docs/café ü+1.md"
    async with server() as c:
        await call(c, "put_object", {"key": key, "text": "# Résumé\n"})
        await call(c, "put_object", {"key": "raw.bin", "base64": base64.b64encode(b"\x00\xff\x10").decode()})
        templates = (await c.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["spaces://{bucket}/{+key}"], templates
        listed = {r.name: r for r in (await c.list_resources()).resources}
        assert set(listed) == {key, "raw.bin"}, listed
        uri = listed[key].uri
        assert uri == f"spaces://{bucket}/docs/caf%C3%A9%20%C3%BC%2B1.md", uri
        contents = (await c.read_resource(uri)).contents
        assert contents[0].text == "# Résumé\n" and contents[0].mime_type.startswith("text/markdown"), contents
        contents = (await c.read_resource(listed["raw.bin"].uri)).contents
        assert base64.b64decode(contents[0].blob) == b"\x00\xff\x10", contents
        assert contents[0].mime_type == "application/octet-stream", contents
        # Since 2026-07-28 a missing resource is "invalid params" (SEP-2164); before, -32002.
        for bad in [f"spaces://{bucket}/missing.txt", f"spaces://{bucket}/a/../b", "s3://elsewhere/key"]:
            await read_fails(c, bad, -32602)
    async with server(mode="legacy") as c:
        await read_fails(c, f"spaces://{bucket}/missing.txt", -32002)
        assert (await c.read_resource(uri)).contents[0].text == "# Résumé\n"
    return {"uri": uri}


async def read_fails(client, uri, code):
    """Reads a resource that must fail with the JSON-RPC error `code`; returns the message."""
    try:
        await client.read_resource(uri)
    except MCPError as e:
        assert e.error.code == code, (uri, e.error)
        return e.error.message
    raise AssertionError(f"reading {uri} should have failed")


async def scenario_errors():
    async with server("--max-content-bytes", "1000") as c:
        bad_calls = [
            ("head_object", {}, "missing field `key`"),
            ("head_object", {"key": "a", "colour": "red"}, "unknown field `colour`"),
            ("head_object", {"key": 42}, "invalid type"),
            ("get_object", {"key": "../etc/passwd"}, '".." segment'),
            ("get_object", {"key": "a", "format": "pdf"}, "unknown variant"),
            ("list_objects", {"limit": 5000}, "1-1000"),
            ("put_object", {"key": "a.txt"}, "exactly one of `text` or `base64`"),
            ("put_object", {"key": "a.bin", "base64": "not base64!"}, "base64"),
            ("put_object", {"key": "big.txt", "text": "x" * 1001}, "1001 bytes", "--max-content-bytes"),
            ("presign_url", {"key": "a", "expires_seconds": 0}, "expires_seconds"),
            ("get_object", {"key": "never-stored.txt"}, "not found"),
            ("delete_bucket", {}, "no tool"),
            ("list_objects", {"bucket": "Not_A_Bucket!"}, "bucket"),
        ]
        for tool, args, *needles in bad_calls:
            await fails(c, tool, args, *needles)
            # The server is still there and still answers.
            await call(c, "list_objects", {"limit": 1})
        # Too large to pass through: refused with a presigned URL that fetches it.
        text = await fails(c, "get_object", {"key": "large.bin"}, "5000 bytes", "--max-content-bytes", "http")
        url = text[text.index("http"):].strip()
        status, body = fetch(url)
        assert status == 200 and len(body) == 5000, (status, len(body))
        message = await read_fails(c, f"spaces://{os.environ['SPACES_BUCKET']}/large.bin", -32602)
        assert "--max-content-bytes" in message, message
    # With no bucket configured, object tools say how to name one.
    async with server(SPACES_BUCKET=None) as c:
        await fails(c, "list_objects", {}, "no bucket", "--bucket")
        bucket = os.environ["SPACES_BUCKET"]
        page = (await call(c, "list_objects", {"bucket": bucket})).structured_content
        assert [o["key"] for o in page["objects"]] == ["large.bin"], page
        assert (await c.list_resources()).resources == []
    return {}


async def scenario_read_only():
    async with server("--read-only") as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        assert tools == READ_ONLY_TOOLS, tools
        await fails(c, "put_object", {"key": "should-not-exist.txt", "text": "x"}, "--read-only")
        await fails(c, "delete_object", {"key": "kept.txt"}, "--read-only")
        await fails(c, "keys_delete", {"access_key": "ANYKEY"}, "--read-only")
        assert (await call(c, "get_object", {"key": "kept.txt"})).content[0].text == "kept"
    return {}


async def scenario_api():
    progress = []

    async def on_progress(done, total, message):
        progress.append((done, total))

    bucket = os.environ["SPACES_BUCKET"]
    async with server("--purge-window-ms", "50") as c:
        endpoints = (await call(c, "cdn_list")).structured_content["endpoints"]
        assert [e["origin"] for e in endpoints] == [f"{bucket}.us-east-1.digitaloceanspaces.com"], endpoints
        paths = [f"img/{i}.png" for i in range(120)]
        purged = (await call(c, "cdn_purge", {"paths": paths}, progress_callback=on_progress)).structured_content
        assert purged == {"id": endpoints[0]["id"], "files": 120, "requests": 3}, purged
        assert progress == [(50, 120), (100, 120), (120, 120)], progress
        await fails(c, "cdn_purge", {"endpoint_id": "not-a-uuid", "paths": ["*"]}, "endpoint")

        created = (await call(c, "keys_create", {"name": "mcp-made",
                                                  "grants": [{"bucket": bucket, "permission": "read"}]}))
        new = created.structured_content
        assert new["secret_key"] and new["grants"] == [{"bucket": bucket, "permission": "read"}], new
        listed = (await call(c, "keys_list", {"name": "mcp-made"}))
        keys = listed.structured_content["keys"]
        assert [k["access_key"] for k in keys] == [new["access_key"]], keys
        assert new["secret_key"] not in json.dumps(listed.model_dump(mode="json")), "a listing shows a secret"
        await fails(c, "keys_create", {"name": "x", "grants": [{"bucket": bucket, "permission": "owner"}]},
                    "unknown variant")
        await call(c, "keys_delete", {"access_key": new["access_key"]})
        assert (await call(c, "keys_list", {"name": "mcp-made"})).structured_content["keys"] == []
        await fails(c, "keys_delete", {"access_key": new["access_key"]}, "not found")
        return {"secret": new["secret_key"]}


async def scenario_no_token():
    async with server(DIGITALOCEAN_TOKEN=None) as c:
        await fails(c, "cdn_list", {}, "DIGITALOCEAN_TOKEN")
        await fails(c, "keys_list", {}, "DIGITALOCEAN_TOKEN")
        await call(c, "list_objects", {})
    return {}


async def scenario_cancel():
    """A client that gives up on a slow multipart put_object (the test's proxy slows the parts) cancels the call."""
    body = base64.b64encode(os.urandom(12 << 20)).decode()
    args = ["--max-content-bytes", str(16 << 20), "--multipart-threshold", str(5 << 20), "--part-size", str(5 << 20)]
    async with server(*args) as c:
        try:
            result = await c.call_tool("put_object", {"key": "cancelled.bin", "base64": body}, read_timeout_seconds=6)
        except MCPError as e:
            timeout = e.error.message
        else:
            raise AssertionError(f"the slow upload was not cut short: {result}")
        # The server aborts the upload and carries on.
        await asyncio.sleep(3)
        assert (await call(c, "list_objects", {})).structured_content["objects"] == []
    return {"timeout": timeout}


def post_form(url, fields, name, content):
    """A browser's multipart/form-data upload of one file with the form's fields; returns the status."""
    boundary = "spaces-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    head = "".join(parts) + (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                             "Content-Type: text/plain\r\n\r\n")
    body = head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
    try:
        return fetch(url, "POST", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})[0]
    except urllib.error.HTTPError as e:
        return e.code


async def scenario_settings():
    bucket = os.environ["SPACES_BUCKET"]
    async with server() as c:
        listed = (await call(c, "list_buckets")).structured_content["buckets"]
        assert any(b["name"] == bucket for b in listed), listed

        await call(c, "put_object", {"key": "pub/page.html", "text": "<p>hi</p>"})
        url = (await call(c, "object_url", {"key": "pub/page.html"})).structured_content["url"]
        acl = (await call(c, "get_acl", {"key": "pub/page.html"})).structured_content
        assert acl["acl"] == "private" and acl["key"] == "pub/page.html", acl
        set_ = (await call(c, "set_acl", {"key": "pub/page.html", "acl": "public"})).structured_content
        assert set_ == {"bucket": bucket, "key": "pub/page.html", "acl": "public"}, set_
        assert fetch(url) == (200, b"<p>hi</p>"), "readable without credentials"
        await fails(c, "set_acl", {"key": "pub/page.html", "acl": "world"}, "unknown variant")

        assert (await call(c, "get_cors")).structured_content == {"CORSRules": []}
        rule = {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["POST"], "MaxAgeSeconds": 60}
        assert (await call(c, "set_cors", {"rules": [rule]})).structured_content == {"bucket": bucket, "rules": 1}
        assert (await call(c, "get_cors")).structured_content == {"CORSRules": [rule]}
        await fails(c, "set_cors", {"rules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}, "PATCH")

        form = (await call(c, "presign_post", {"key": "inbox/", "max_size": 64})).structured_content
        assert form["fields"]["key"] == "inbox/${filename}", form
        assert post_form(form["url"], form["fields"], "a.txt", b"from a form") == 204
        assert post_form(form["url"], form["fields"], "big.txt", b"x" * 100) == 400
    return {"cors": rule}


SCENARIOS = {
    "settings": scenario_settings,
    "cancel": scenario_cancel,
    "objects": scenario_objects,
    "resources": scenario_resources,
    "errors": scenario_errors,
    "read-only": scenario_read_only,
    "api": scenario_api,
    "no-token": scenario_no_token,
}

if __name__ == "__main__":
    print(json.dumps(asyncio.run(SCENARIOS[sys.argv[1]]())))
