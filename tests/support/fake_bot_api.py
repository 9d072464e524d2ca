"""A fake Telegram Bot API server (aiohttp) and scripted users, for end-to-end tests of the real bot.

The bot under test is the real python-telegram-bot ``Application`` talking
HTTP to this server on 127.0.0.1, exactly as it talks to api.telegram.org.
The server answers with the JSON shapes the Bot API returns, and is as
strict as Telegram where a bot can get things wrong:

- ``parse_mode=HTML`` texts are parsed like Telegram does (supported tags
  only, balanced, ``<``, ``>`` and ``&`` escaped; stricter than Telegram on a
  bare ``&``), and the plain text and entities are what the message holds;
- texts over 4096 characters (UTF-16 code units, after parsing), empty
  texts, callback data over 64 bytes, editing with nothing changed, and
  answering a callback query twice or not at all are errors, each answered
  with Telegram's ``{"ok": false, "error_code": 400, "description": ...}``;
- ``getUpdates`` honours ``offset``, ``limit``, ``timeout`` and
  ``allowed_updates``, and returns as soon as an update is queued;
- ``deleteMessages`` takes 1 to 100 ids, skips ids it does not find, and
  refuses the whole call when one of them is older than 48 hours (stricter
  than Telegram, so that a bot that asks too late is caught). Every
  message, the bot's and the person's, exists until it is deleted:
  ``messages_in(chat_id)`` lists the ids a person would still see.

Every call is recorded in ``calls`` and every error in ``errors``, so a test
can assert that the bot never made a bad request.

    api = FakeBotAPI(); await api.start()
    amina = api.user(language_code="sw")
    await amina.send("/start")
    notice = await amina.next_reply()
    await amina.press("consent:quote:sw:0")
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456789:TEST-token_for-the-fake-api"
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
DELETABLE_FOR = 48 * 3600  # seconds a bot may delete a message of a private chat
DELETE_BATCH = 100

_STRING_PARAMS = {
    "text",
    "caption",
    "parse_mode",
    "callback_query_id",
    "action",
    "language_code",
    "url",
    "filename",
    "description",
    "short_description",
}
_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}


class ApiError(Exception):
    """A Bot API error: HTTP status and Telegram's description."""

    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.code = code


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Telegram's HTML parse mode: the plain text and its entities (UTF-16 offsets), or ``ApiError``."""
    out: list[str] = []
    offset = 0
    stack: list[tuple[str, str, int, dict]] = []
    entities: list[dict] = []
    i = 0

    def fail(reason: str) -> ApiError:
        byte = len(source[:i].encode("utf-8"))
        return ApiError(f"Bad Request: can't parse entities: {reason} at byte offset {byte}")

    while i < len(source):
        ch = source[i]
        if ch == "<":
            match = _TAG.match(source, i)
            if match is None:
                raise fail("Unclosed start tag")
            closing, name, attrs = match.groups()
            name = name.lower()
            if name not in _TAG_TYPES or (name == "span" and 'class="tg-spoiler"' not in attrs):
                raise fail(f'Unsupported start tag "{name}"')
            if not closing:
                extra: dict[str, Any] = {}
                if name == "a":
                    href = re.search(r'href\s*=\s*"([^"]*)"', attrs)
                    if href is None:
                        raise fail('Tag "a" must have attribute "href"')
                    extra["url"] = html.unescape(href.group(1))
                stack.append((name, _TAG_TYPES[name], offset, extra))
            else:
                if not stack or stack[-1][0] != name:
                    raise fail(f'Unmatched end tag "{name}"')
                _, kind, start, extra = stack.pop()
                if offset > start:
                    entities.append({"type": kind, "offset": start, "length": offset - start, **extra})
            i = match.end()
            continue
        if ch == "&":
            match = _ENTITY.match(source, i)
            if match is None:
                raise fail("Character '&' is not part of an entity; it must be written &amp;")
            char = html.unescape(match.group(0))
            out.append(char)
            offset += utf16_len(char)
            i = match.end()
            continue
        if ch == ">":
            raise fail("Character '>' must be written &gt;")
        out.append(ch)
        offset += utf16_len(ch)
        i += 1
    if stack:
        raise ApiError(f'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


@dataclass
class BotMessage:
    """A message the bot sent, as it is now (after any edits)."""

    raw: dict
    html: str

    @property
    def message_id(self) -> int:
        return self.raw["message_id"]

    @property
    def chat_id(self) -> int:
        return self.raw["chat"]["id"]

    @property
    def text(self) -> str:
        """What the person sees: the parsed text (or caption)."""
        return self.raw.get("text") or self.raw.get("caption") or ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """``(label, callback_data)`` of every inline button, row by row."""
        markup = self.raw.get("reply_markup") or {}
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]

    @property
    def callback_data(self) -> list[str]:
        return [data for _, data in self.buttons]

    @property
    def document(self) -> dict | None:
        return self.raw.get("document")

    def __repr__(self) -> str:
        return f"BotMessage({self.message_id}, {self.text[:60]!r}, buttons={self.callback_data})"


@dataclass
class _Chat:
    raw: dict
    next_message_id: int = 1
    outbox: list[BotMessage] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)


class FakeBotAPI:
    """The fake server: start it, point the bot's ``base_url`` at ``base_url``, script users against it."""

    def __init__(self, token: str = TOKEN, username: str = "lnob_test_bot") -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "LNOB voices",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[tuple[str, dict]] = []
        self.errors: list[tuple[str, str]] = []
        self.commands: dict[str, list[dict]] = {}
        self.chat_commands: dict[int, dict[str, list[dict]]] = {}  # chat id -> language -> menu (BotCommandScopeChat)
        self.files: dict[str, bytes] = {}
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._chats: dict[int, _Chat] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._queries: dict[str, dict] = {}
        self._answers: dict[str, dict] = {}
        self._user_ids = itertools.count(700_000_001)
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- server -----------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The ``LNOB_TELEGRAM_API_URL`` for the bot (the token is appended)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def _file(self, request: web.Request) -> web.Response:
        content = self.files.get(request.match_info["path"])
        if content is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=content)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(method, ApiError("Unauthorized", 401))
        params = await self._params(request)
        self.calls.append((method, params))
        if method == "getUpdates" and len(self.calls) < 50:
            await self._changed_now()  # lets a test wait for the bot to start polling
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(method, ApiError("Not Found", 404))
        try:
            result = await handler(params)
        except ApiError as exc:
            return self._error(method, exc)
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, exc: ApiError) -> web.Response:
        self.errors.append((method, exc.description))
        body = {"ok": False, "error_code": exc.code, "description": exc.description}
        return web.json_response(body, status=exc.code)

    @staticmethod
    async def _params(request: web.Request) -> dict:
        if request.content_type == "application/json":
            return await request.json()
        params: dict[str, Any] = {}
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "content": value.file.read()}
            elif key in _STRING_PARAMS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        return params

    # -- scripting ------------------------------------------------------------------------

    def user(
        self,
        user_id: int | None = None,
        first_name: str = "Amina",
        language_code: str | None = "en",
        username: str | None = None,
    ) -> "FakeUser":
        """A person in a private chat with the bot."""
        user_id = user_id or next(self._user_ids)
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        return FakeUser(self, user, chat)

    def in_group(self, person: "FakeUser", chat_id: int = -1001234567890, title: str = "Village voices") -> "FakeUser":
        """The same person writing in a supergroup."""
        return FakeUser(self, person.user, {"id": chat_id, "type": "supergroup", "title": title})

    def chat(self, raw_chat: dict) -> _Chat:
        if raw_chat["id"] not in self._chats:
            self._chats[raw_chat["id"]] = _Chat(raw_chat)
        return self._chats[raw_chat["id"]]

    def new_message_id(self, chat_id: int) -> int:
        chat = self._chats[chat_id]
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    async def push(self, kind: str, payload: dict) -> int:
        """Queue an update of ``kind`` (``message``, ``callback_query``...); returns its update_id."""
        update_id = next(self._update_ids)
        async with self._changed:
            self._updates.append({"update_id": update_id, kind: payload})
            self._changed.notify_all()
        return update_id

    def remember(self, message: dict) -> None:
        self._messages[(message["chat"]["id"], message["message_id"])] = message

    def outbox(self, chat_id: int) -> list[BotMessage]:
        """Every message the bot sent to this chat, oldest first (deleted ones too: see ``messages_in``)."""
        chat = self._chats.get(chat_id)
        return list(chat.outbox) if chat else []

    def messages_in(self, chat_id: int) -> list[int]:
        """Ids of the messages still in this chat, the bot's and the person's: what is left on the phone."""
        return sorted(message_id for chat, message_id in self._messages if chat == chat_id)

    def deleted_in(self, chat_id: int) -> set[int]:
        """Ids of the messages of this chat deleted by the bot."""
        chat = self._chats.get(chat_id)
        return set(chat.deleted) if chat else set()

    async def wait_for(self, predicate, timeout: float) -> None:
        """Wait until ``predicate()`` holds (re-checked whenever the bot calls the API)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def queue_is_empty(self) -> bool:
        return not self._updates

    async def _changed_now(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- Bot API methods ------------------------------------------------------------------

    async def _api_getMe(self, params: dict) -> dict:
        return self.bot_user

    async def _api_deleteWebhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_close(self, params: dict) -> bool:
        return True

    async def _api_getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        limit = min(int(params.get("limit") or 100), 100)
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or None
        async with self._changed:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout > 0 and not self._closing:
                try:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self._updates or self._closing), timeout
                    )
                except TimeoutError:
                    pass
            updates = list(self._updates)
        if allowed:
            updates = [u for u in updates if any(kind in u for kind in allowed)]
        return updates[:limit]

    async def _api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands") or []
        if not 1 <= len(commands) <= 100:
            raise ApiError("Bad Request: commands must be a list of 1 to 100 commands")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self._command_table(params)[params.get("language_code") or ""] = commands
        return True

    async def _api_getMyCommands(self, params: dict) -> list[dict]:
        return self._command_table(params).get(params.get("language_code") or "", [])

    async def _api_deleteMyCommands(self, params: dict) -> bool:
        self._command_table(params).pop(params.get("language_code") or "", None)
        return True

    def _command_table(self, params: dict) -> dict[str, list[dict]]:
        """The menus of a scope: the default one (``commands``) or one chat's (``chat_commands[chat_id]``)."""
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        if scope.get("type") == "default":
            return self.commands
        if scope.get("type") == "chat":
            chat = self._known_chat(scope)
            return self.chat_commands.setdefault(chat.raw["id"], {})
        raise ApiError(f"Bad Request: scope {scope.get('type')!r} is not supported by the fake server")

    async def _api_sendChatAction(self, params: dict) -> bool:
        self._known_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise ApiError("Bad Request: wrong parameter action in request")
        return True

    async def _api_sendMessage(self, params: dict) -> dict:
        chat = self._known_chat(params)
        text, entities = self._rendered(params.get("text"), params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise ApiError("Bad Request: message text is empty")
        if utf16_len(text) > MESSAGE_LIMIT:
            raise ApiError("Bad Request: message is too long")
        message = self._bot_message(chat, text=text, entities=entities, markup=params.get("reply_markup"))
        return await self._sent(chat, message, params.get("text", ""))

    async def _api_sendDocument(self, params: dict) -> dict:
        chat = self._known_chat(params)
        upload = params.get("document")
        if not isinstance(upload, dict):
            raise ApiError("Bad Request: there is no document in the request")
        file_id = f"doc-{uuid.uuid4().hex}"
        self.files[file_id] = upload["content"]
        document = {
            "file_id": file_id,
            "file_unique_id": file_id[-16:],
            "file_name": upload["filename"],
            "mime_type": "text/plain",
            "file_size": len(upload["content"]),
        }
        return await self._sent_media(chat, params, document=document)

    async def _api_sendPhoto(self, params: dict) -> dict:
        chat = self._known_chat(params)
        upload = params.get("photo")
        if not isinstance(upload, dict) and not isinstance(upload, str):
            raise ApiError("Bad Request: there is no photo in the request")
        file_id = f"photo-{uuid.uuid4().hex}"
        if isinstance(upload, dict):
            self.files[file_id] = upload["content"]
        sizes = [
            {"file_id": f"{file_id}-s", "file_unique_id": f"{file_id[-12:]}s", "width": 90, "height": 90, "file_size": 1200},
            {"file_id": file_id, "file_unique_id": file_id[-12:], "width": 800, "height": 800, "file_size": 64000},
        ]
        return await self._sent_media(chat, params, photo=sizes)

    async def _api_editMessageText(self, params: dict) -> dict:
        message = self._bot_message_to_edit(params)
        text, entities = self._rendered(params.get("text"), params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise ApiError("Bad Request: message text is empty")
        if utf16_len(text) > MESSAGE_LIMIT:
            raise ApiError("Bad Request: MESSAGE_TOO_LONG")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if message.get("text") == text and message.get("entities", []) == entities and message.get("reply_markup") == markup:
            raise ApiError(
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        message["text"] = text
        _set(message, "entities", entities or None)
        _set(message, "reply_markup", markup)
        return await self._edited(message, params.get("text", ""))

    async def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        message = self._bot_message_to_edit(params)
        markup = params.get("reply_markup") or None
        self._check_markup(markup)
        if message.get("reply_markup") == markup:
            raise ApiError(
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        _set(message, "reply_markup", markup)
        return await self._edited(message, None)

    async def _api_deleteMessages(self, params: dict) -> bool:
        chat = self._known_chat(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= DELETE_BATCH:
            raise ApiError("Bad Request: message_ids must be a list of 1 to 100 message identifiers")
        chat_id = chat.raw["id"]
        found = [int(i) for i in ids if (chat_id, int(i)) in self._messages]
        now = time.time()
        if chat.raw["type"] == "private" and any(now - self._messages[(chat_id, i)]["date"] >= DELETABLE_FOR for i in found):
            raise ApiError("Bad Request: message can't be deleted for everyone")
        for message_id in found:
            del self._messages[(chat_id, message_id)]
            chat.deleted.add(message_id)
        await self._changed_now()
        return True

    async def _api_answerCallbackQuery(self, params: dict) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._queries or query_id in self._answers:
            raise ApiError("Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(params.get("text") or "") > 200:
            raise ApiError("Bad Request: MESSAGE_TOO_LONG")
        self._answers[query_id] = params
        await self._changed_now()
        return True

    # -- helpers of the methods -----------------------------------------------------------

    def _known_chat(self, params: dict) -> _Chat:
        try:
            chat_id = int(params.get("chat_id"))
        except (TypeError, ValueError):
            raise ApiError("Bad Request: chat not found") from None
        if chat_id not in self._chats:
            raise ApiError("Bad Request: chat not found")
        return self._chats[chat_id]

    def _rendered(self, text: str | None, parse_mode: str | None, entities: list | None) -> tuple[str, list[dict]]:
        if text is None:
            raise ApiError("Bad Request: message text is empty")
        if parse_mode is None:
            return text, list(entities or [])
        if parse_mode != "HTML":
            raise ApiError(f"Bad Request: unsupported parse_mode {parse_mode!r} in the fake server")
        return parse_html(text)

    @staticmethod
    def _check_markup(markup: dict | None) -> None:
        if not markup:
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError("Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise ApiError("Bad Request: BUTTON_DATA_INVALID")

    def _bot_message(self, chat: _Chat, *, markup: dict | None = None, **content) -> dict:
        self._check_markup(markup)
        message = {
            "message_id": self.new_message_id(chat.raw["id"]),
            "from": self.bot_user,
            "chat": chat.raw,
            "date": int(time.time()),
        }
        for key, value in content.items():
            _set(message, key, value)
        _set(message, "reply_markup", markup or None)
        return message

    async def _sent(self, chat: _Chat, message: dict, source: str) -> dict:
        self.remember(message)
        chat.outbox.append(BotMessage(message, source))
        await self._changed_now()
        return message

    async def _sent_media(self, chat: _Chat, params: dict, **media) -> dict:
        caption, entities = None, []
        if params.get("caption"):
            caption, entities = self._rendered(params["caption"], params.get("parse_mode"), params.get("caption_entities"))
            if utf16_len(caption) > CAPTION_LIMIT:
                raise ApiError("Bad Request: message caption is too long")
        message = self._bot_message(
            chat, caption=caption, caption_entities=entities or None, markup=params.get("reply_markup"), **media
        )
        return await self._sent(chat, message, params.get("caption") or "")

    def _bot_message_to_edit(self, params: dict) -> dict:
        chat = self._known_chat(params)
        message = self._messages.get((chat.raw["id"], int(params.get("message_id") or 0)))
        if message is None:
            raise ApiError("Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError("Bad Request: message can't be edited")
        return message

    async def _edited(self, message: dict, source: str | None) -> dict:
        message["edit_date"] = int(time.time())
        if source is not None:
            for sent in self._chats[message["chat"]["id"]].outbox:
                if sent.raw is message:
                    sent.html = source
        await self._changed_now()
        return message


def _set(target: dict, key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


class FakeUser:
    """A scripted person: sends messages, presses inline buttons, reads the bot's replies in order."""

    def __init__(self, api: FakeBotAPI, user: dict, chat: dict) -> None:
        self.api = api
        self.user = user
        self.chat_raw = chat
        self.read = 0
        api.chat(chat)

    @property
    def id(self) -> int:
        return self.user["id"]

    @property
    def chat_id(self) -> int:
        return self.chat_raw["id"]

    def _message(self, sent_at: float | None = None, **content) -> dict:
        message = {
            "message_id": self.api.new_message_id(self.chat_id),
            "from": self.user,
            "chat": self.chat_raw,
            "date": int(time.time() if sent_at is None else sent_at),
            **content,
        }
        self.api.remember(message)
        return message

    async def send(
        self, text: str, *, forwarded_from: dict | None = None, reply_to: BotMessage | None = None, sent_at: float | None = None
    ) -> dict:
        """Send a text message (a leading ``/command`` gets its ``bot_command`` entity, as clients do).

        ``sent_at`` (unix time) dates it in the past, as a message delivered late.
        """
        content: dict[str, Any] = {"text": text}
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        entities = []
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
        for mention in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
            if command and mention.start() < command.end():
                continue
            entities.append(
                {"type": "mention", "offset": utf16_len(text[: mention.start()]), "length": utf16_len(mention.group(0))}
            )
        if entities:
            content["entities"] = entities
        if forwarded_from is not None:
            content["forward_origin"] = {"type": "user", "sender_user": forwarded_from, "date": int(time.time()) - 3600}
        if reply_to is not None:
            content["reply_to_message"] = reply_to.raw
        message = self._message(sent_at, **content)
        await self.api.push("message", message)
        return message

    async def forward(self, text: str) -> dict:
        """Forward someone else's text message to the bot."""
        other = {"id": 555_000_111, "is_bot": False, "first_name": "Someone"}
        return await self.send(text, forwarded_from=other)

    async def send_media(self, kind: str) -> dict:
        """Send a voice note, photo, video, sticker, document, location, contact... (as Telegram delivers it)."""
        file = {"file_id": f"{kind}-{uuid.uuid4().hex[:12]}", "file_unique_id": uuid.uuid4().hex[:16]}
        payloads = {
            "voice": {"voice": {**file, "duration": 4, "mime_type": "audio/ogg", "file_size": 9000}},
            "audio": {"audio": {**file, "duration": 95, "mime_type": "audio/mpeg", "title": "Song"}},
            "photo": {
                "photo": [
                    {**file, "width": 90, "height": 60, "file_size": 1100},
                    {"file_id": file["file_id"] + "x", "file_unique_id": file["file_unique_id"][::-1], "width": 1280, "height": 853},
                ]
            },
            "video": {"video": {**file, "width": 640, "height": 360, "duration": 12, "mime_type": "video/mp4"}},
            "video_note": {"video_note": {**file, "length": 240, "duration": 6}},
            "animation": {
                "animation": {**file, "width": 320, "height": 240, "duration": 3},
                "document": {**file, "file_name": "funny.gif.mp4", "mime_type": "video/mp4"},
            },
            "sticker": {
                "sticker": {**file, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "🙂"}
            },
            "document": {"document": {**file, "file_name": "letter.pdf", "mime_type": "application/pdf", "file_size": 20480}},
            "location": {"location": {"latitude": -1.2921, "longitude": 36.8219}},
            "venue": {
                "venue": {"location": {"latitude": -1.2921, "longitude": 36.8219}, "title": "Clinic", "address": "Main road"},
                "location": {"latitude": -1.2921, "longitude": 36.8219},
            },
            "contact": {"contact": {"phone_number": "+254700000001", "first_name": "Juma", "user_id": 777}},
            "dice": {"dice": {"emoji": "🎲", "value": 4}},
        }
        message = self._message(**payloads[kind])
        await self.api.push("message", message)
        return message

    async def edit(self, message: dict, text: str) -> dict:
        """Edit one of this person's earlier messages."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        self.api.remember(edited)
        await self.api.push("edited_message", edited)
        return edited

    async def press(self, data: str, *, timeout: float = 30.0, answered: bool = True) -> dict:
        """Press the newest inline button with this callback data; returns the bot's answerCallbackQuery.

        ``answered=False`` only sends the press (for a bot that is expected to drop it).
        """
        message = self.message_with_button(data)
        query_id = str(uuid.uuid4().int)[:18]
        query = {
            "id": query_id,
            "from": self.user,
            "message": message.raw,
            "chat_instance": f"ci-{self.chat_id}",
            "data": data,
        }
        self.api._queries[query_id] = query
        await self.api.push("callback_query", query)
        if not answered:
            return {}
        try:
            await self.api.wait_for(lambda: query_id in self.api._answers, timeout)
        except TimeoutError:
            raise AssertionError(f"the bot did not answer the press of {data!r}; errors: {self.api.errors}") from None
        return self.api._answers[query_id]

    async def toggle(self, data: str, *, timeout: float = 30.0) -> BotMessage:
        """Press a button that the bot answers by editing its keyboard; returns the edited message."""
        message = self.message_with_button(data)
        before = json.dumps(message.raw.get("reply_markup"), sort_keys=True)
        await self.press(data, timeout=timeout)
        changed = lambda: json.dumps(message.raw.get("reply_markup"), sort_keys=True) != before  # noqa: E731
        try:
            await self.api.wait_for(changed, timeout)
        except TimeoutError:
            raise AssertionError(f"the bot did not update the keyboard after {data!r}") from None
        return message

    def message_with_button(self, data: str) -> BotMessage:
        deleted = self.api.deleted_in(self.chat_id)
        for message in reversed(self.api.outbox(self.chat_id)):
            if data in message.callback_data and message.message_id not in deleted:
                return message
        raise AssertionError(f"no message in the chat has a button {data!r}")

    def button_data(self, prefix: str) -> str:
        """The data of the newest button whose data starts with ``prefix``."""
        for message in reversed(self.api.outbox(self.chat_id)):
            for data in message.callback_data:
                if data.startswith(prefix):
                    return data
        raise AssertionError(f"no button with data starting {prefix!r}")

    async def next_reply(self, timeout: float = 30.0) -> BotMessage:
        """The next message the bot sends to this chat (waits for it)."""
        try:
            await self.api.wait_for(lambda: len(self.api.outbox(self.chat_id)) > self.read, timeout)
        except TimeoutError:
            raise AssertionError(
                f"no reply from the bot within {timeout} s; last calls: "
                f"{[m for m, _ in self.api.calls[-5:]]}; errors: {self.api.errors}"
            ) from None
        message = self.api.outbox(self.chat_id)[self.read]
        self.read += 1
        return message

    async def replies(self, count: int, timeout: float = 30.0) -> list[BotMessage]:
        return [await self.next_reply(timeout) for _ in range(count)]

    async def silence(self, seconds: float = 0.5) -> None:
        """Assert that the bot sends nothing more to this chat for ``seconds``."""
        await asyncio.sleep(seconds)
        extra = self.api.outbox(self.chat_id)[self.read :]
        assert not extra, f"unexpected replies: {extra}"

    async def say(self, text: str, timeout: float = 30.0) -> BotMessage:
        """Send ``text`` and return the bot's next reply."""
        await self.send(text)
        return await self.next_reply(timeout)

    async def choose(self, data: str, timeout: float = 30.0) -> BotMessage:
        """Press a button and return the bot's next message."""
        await self.press(data, timeout=timeout)
        return await self.next_reply(timeout)


@asynccontextmanager
async def running_bot(api: FakeBotAPI, settings, evidence=None, **bot_settings) -> AsyncIterator:
    """The bot's real Application (built as ``lnob bot`` builds it) polling ``api`` until exit."""
    from bot import BotSettings, build_application, serving

    config = BotSettings(
        _env_file=None,
        telegram_bot_token=api.token,
        telegram_api_url=api.base_url,
        telegram_file_url=api.file_url,
        **bot_settings,
    )
    application = build_application(settings, config, evidence=evidence)
    async with serving(application, poll_interval=0, timeout=1):
        yield application


# -- steps for the contributor bot's end-to-end tests (the ``api`` and ``bot`` fixtures are in tests/conftest.py)


async def enrol(person: FakeUser, level: str = "quote") -> BotMessage:
    """``/start``, agree at ``level``, skip the profile; returns the story question."""
    notice = await person.say("/start")
    await person.choose(next(d for d in notice.callback_data if d.startswith(f"consent:{level}:")))
    return await person.choose("profile:skip")


async def share(person: FakeUser, story: str, why: str | None = None, drivers=(), proposal: str | None = None) -> BotMessage:
    """``/share`` the whole flow; returns the thank-you."""
    await person.say("/share")
    return await tell(person, story, why, drivers, proposal)


async def tell(person: FakeUser, story: str, why: str | None = None, drivers=(), proposal: str | None = None) -> BotMessage:
    """Answer the flow from the story question on; returns the thank-you."""
    await person.say(story)
    await (person.say(why) if why else person.choose("why:skip"))
    for driver in drivers:
        await person.toggle(f"driver:{driver}")
    await person.choose("drivers:done" if drivers else "drivers:unsure")
    return await (person.say(proposal) if proposal else person.choose("proposal:skip"))


async def eventually(condition, timeout: float = 5.0, interval: float = 0.02) -> None:
    """Wait until ``condition()`` is true (for effects that follow the reply, like saving state)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition still false after the timeout")
        await asyncio.sleep(interval)
