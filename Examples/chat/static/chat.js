// The chat page: join with a name, see who is here (presence channel), read and send messages (private channel).
//
// Who talks to whom:
//   page → app server  POST /session {name} → identity token (HS256 JWT; what a real app's login would hand out)
//   page → relay       WebSocket, Pusher protocol 7 (relay-client.js)
//   page → Usher       POST /pusher/auth with `Authorization: Bearer <token>` for each subscription (CORS)
//   page → app server  POST /messages {name, text}; the app server triggers `message` on the private channel
//
// Every piece of user text reaches the DOM through `textContent`, never as HTML.

import { RelayClient } from "./relay-client.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MARGIN_S = 60;

let config;
let session; // {token, user_id, name, expires_at}

async function postJSON(url, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error ?? `${url} answered ${response.status}`);
  return answer;
}

/** The identity token, renewed shortly before it expires (subscriptions after a reconnect need a valid one). */
async function currentToken() {
  if (session.expires_at - Date.now() / 1000 < REFRESH_MARGIN_S) {
    session = await postJSON("/session", { name: session.name });
  }
  return session.token;
}

/** Asks Usher to authorize one subscription, exactly as pusher-js's channelAuthorization does. */
async function authorize(socketId, channelName) {
  const token = await currentToken();
  const response = await fetch(config.auth_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Bearer ${token}` },
    body: new URLSearchParams({ socket_id: socketId, channel_name: channelName }),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status !== 200) throw new Error(answer.error ?? `Usher answered ${response.status}`);
  return answer;
}

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

function renderMembers(members) {
  const list = $("members");
  const items = [];
  members.each(({ id, info }) => {
    const item = document.createElement("li");
    item.dataset.userId = id;
    if (id === members.me) item.classList.add("me");
    const name = document.createElement("span");
    name.className = "member-name";
    name.textContent = typeof info?.name === "string" ? info.name : id;
    item.append(name);
    items.push(item);
  });
  items.sort((a, b) => a.textContent.localeCompare(b.textContent));
  list.replaceChildren(...items);
  $("member-count").textContent = String(members.count);
}

function appendMessage({ name, text, sent_at: sentAt }, system = false) {
  const list = $("messages");
  const item = document.createElement("li");
  if (system) {
    item.className = "system";
    item.textContent = text;
  } else {
    const who = document.createElement("span");
    who.className = "message-name";
    who.textContent = String(name ?? "?");
    const body = document.createElement("span");
    body.className = "message-text";
    body.textContent = String(text ?? "");
    const time = document.createElement("time");
    time.className = "message-time";
    const at = new Date(Number(sentAt) || Date.now());
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    item.append(who, body, time);
  }
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function enableSending(enabled) {
  $("message").disabled = !enabled;
  $("send").disabled = !enabled;
  if (enabled) $("message").focus();
}

function enterRoom() {
  $("join-form").hidden = true;
  $("room").hidden = false;
  $("presence-channel").textContent = config.channels.presence;
  $("message-channel").textContent = config.channels.messages;

  const client = new RelayClient({ url: config.relay_url, authorize });
  client.bind("state_change", (state, detail) => {
    const texts = {
      connecting: "Connecting to the relay…",
      connected: `Connected as ${session.name}`,
      unavailable: `Disconnected; retrying in ${Math.round((detail.retryInMs ?? 0) / 1000)} s`,
      failed: `Connection refused (${detail.code}: ${detail.reason || "no reason"})`,
    };
    setStatus(state, texts[state] ?? state);
    $("room").classList.toggle("offline", state !== "connected"); // the list is stale until resubscribed
    if (state !== "connected") enableSending(false);
  });

  const room = client.subscribe(config.channels.presence);
  room.bind("pusher:subscription_succeeded", renderMembers);
  room.bind("pusher:member_added", () => renderMembers(room.members));
  room.bind("pusher:member_removed", () => renderMembers(room.members));
  room.bind("pusher:subscription_error", (error) => setStatus("error", `Could not join the room: ${error.error}`));

  const messages = client.subscribe(config.channels.messages);
  messages.bind("pusher:subscription_succeeded", () => enableSending(true));
  messages.bind("pusher:subscription_error", (error) => {
    setStatus("error", `Could not read messages: ${error.error}`);
    enableSending(false);
  });
  messages.bind("message", (message) => appendMessage(message));

  // Leave at once when the page goes away; come back if the browser restores it from its back/forward cache.
  window.addEventListener("pagehide", () => client.disconnect());
  window.addEventListener("pageshow", (event) => event.persisted && client.connect());
  client.connect();
}

async function join(event) {
  event.preventDefault();
  const name = $("name").value.trim();
  if (!name || !config) return;
  $("join").disabled = true;
  try {
    session = await postJSON("/session", { name });
    sessionStorage.setItem("usher-chat-name", session.name);
    enterRoom();
  } catch (error) {
    setStatus("error", `Could not join: ${error.message}`);
    $("join").disabled = false;
  }
}

async function send(event) {
  event.preventDefault();
  const input = $("message");
  const text = input.value.trim();
  if (!text) return;
  $("send").disabled = true;
  try {
    await postJSON("/messages", { name: session.name, text }, await currentToken());
    input.value = "";
  } catch (error) {
    appendMessage({ text: `Not sent: ${error.message}` }, true);
  } finally {
    $("send").disabled = input.disabled;
    input.focus();
  }
}

async function main() {
  // Handlers first, so an early Enter never submits the form natively; Join is enabled once the config is here.
  $("join-form").addEventListener("submit", join);
  $("message-form").addEventListener("submit", send);
  $("name").value = sessionStorage.getItem("usher-chat-name") ?? "";
  config = await (await fetch("/config.json")).json();
  $("join").disabled = false;
}

main().catch((error) => setStatus("error", `Could not load the chat: ${error.message}`));
