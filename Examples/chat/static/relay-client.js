// A small Pusher protocol-7 client, written for the chat: just the subset it needs, no dependencies.
//
//   const client = new RelayClient({ url: "ws://127.0.0.1:6001/app/KEY?protocol=7&client=usher-chat&version=1",
//                                    authorize: async (socketId, channelName) => ({ auth, channel_data }) });
//   const room = client.subscribe("presence-chat");
//   room.bind("pusher:subscription_succeeded", (members) => …);
//   client.connect();
//
// Protocol (PUSHER-PROTOCOL.md, pusher-js 8.x): frames are JSON objects {event, channel?, data}; the server's `data`
// is usually a JSON *string*, which `decode` parses. On `pusher:connection_established` the client subscribes to every
// channel it holds, fetching a fresh auth for the new socket_id each time (a reconnect means a new socket).

const PONG_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 10_000;

/** Parses a frame's `data` when it is JSON text, else returns it unchanged (app events may carry plain strings). */
function decode(data) {
  if (typeof data !== "string") return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** Event handlers of one channel or of the connection; a throwing handler never stops the others. */
class Handlers {
  constructor() {
    this.byEvent = new Map();
  }

  bind(event, handler) {
    if (!this.byEvent.has(event)) this.byEvent.set(event, []);
    this.byEvent.get(event).push(handler);
    return this;
  }

  emit(event, ...args) {
    for (const handler of this.byEvent.get(event) ?? []) {
      try {
        handler(...args);
      } catch (error) {
        console.error(`handler for ${event} failed`, error);
      }
    }
  }
}

/** Presence members: user_id (as a string) → user_info. */
export class Members {
  constructor() {
    this.reset({ ids: [], hash: {} });
  }

  reset(presence) {
    this.map = new Map();
    for (const id of presence.ids ?? []) this.map.set(String(id), presence.hash?.[id] ?? {});
    this.me = null;
  }

  get count() {
    return this.map.size;
  }

  each(visit) {
    for (const [id, info] of this.map) visit({ id, info });
  }
}

/** One subscribed channel. Bind app events by name; the client emits `pusher:subscription_succeeded`,
 * `pusher:subscription_error`, and on presence channels `pusher:member_added` / `pusher:member_removed`. */
export class Channel extends Handlers {
  constructor(name, client) {
    super();
    this.name = name;
    this.client = client;
    this.subscribed = false;
    this.isPresence = name.startsWith("presence-");
    this.members = this.isPresence ? new Members() : null;
  }

  /** Handles one frame for this channel. */
  handle(event, data) {
    switch (event) {
      case "pusher_internal:subscription_succeeded":
        this.subscribed = true;
        if (this.members) {
          this.members.reset(data?.presence ?? {});
          this.members.me = this.client.userId;
        }
        this.emit("pusher:subscription_succeeded", this.members ?? data);
        break;
      case "pusher_internal:member_added": {
        if (!this.members) break;
        const id = String(data.user_id);
        const known = this.members.map.has(id);
        this.members.map.set(id, data.user_info ?? {});
        if (!known) this.emit("pusher:member_added", { id, info: data.user_info ?? {} });
        break;
      }
      case "pusher_internal:member_removed": {
        if (!this.members) break;
        const id = String(data.user_id);
        const info = this.members.map.get(id);
        if (this.members.map.delete(id)) this.emit("pusher:member_removed", { id, info });
        break;
      }
      default:
        this.emit(event, data);
    }
  }
}

/** A connection to a Pusher protocol-7 relay that reconnects on its own, as pusher-js does. */
export class RelayClient extends Handlers {
  /**
   * @param {object} options
   * @param {string} options.url the relay URL, `ws://host:port/app/{key}?protocol=7&client=…&version=…`
   * @param {(socketId: string, channelName: string) => Promise<{auth: string, channel_data?: string}>} options.authorize
   *   fetches the auth for a private or presence channel (throws on refusal)
   */
  constructor({ url, authorize }) {
    super();
    this.url = url;
    this.authorize = authorize;
    this.channels = new Map();
    this.socket = null;
    this.socketId = null;
    this.userId = null;
    this.state = "initialized";
    this.attempts = 0;
    this.activityTimeoutMs = 120_000;
    this.timers = { activity: null, pong: null, retry: null };
    this.closedByUser = false;
  }

  connect() {
    this.closedByUser = false;
    this.open();
  }

  disconnect() {
    this.closedByUser = true;
    this.clearTimers();
    this.socket?.close(1000, "bye");
    this.setState("disconnected");
  }

  subscribe(name) {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new Channel(name, this);
      this.channels.set(name, channel);
      if (this.state === "connected") this.sendSubscribe(channel);
    }
    return channel;
  }

  unsubscribe(name) {
    if (this.channels.delete(name) && this.state === "connected") {
      this.send("pusher:unsubscribe", { channel: name });
    }
  }

  /** Sends a client event (`client-…`) on a subscribed private or presence channel. */
  trigger(channelName, event, data) {
    return this.send(event, data, channelName);
  }

  send(event, data, channel) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    const frame = { event, data };
    if (channel !== undefined) frame.channel = channel;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  // -- connection lifecycle ----------------------------------------------------------------------------------

  open() {
    this.setState("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onmessage = (message) => {
      if (socket === this.socket) this.receive(message.data);
    };
    socket.onclose = (close) => {
      if (socket === this.socket) this.closed(close.code, close.reason);
    };
  }

  closed(code, reason) {
    this.clearTimers();
    this.socketId = null;
    for (const channel of this.channels.values()) channel.subscribed = false;
    if (this.closedByUser) return;
    // PUSHER-PROTOCOL.md §9: 4000–4099 never reconnect; 4100–4199 back off; 4200–4299 reconnect at once.
    if (code >= 4000 && code < 4100) {
      this.setState("failed", { code, reason });
      return;
    }
    const delay = code >= 4200 && code < 4300 ? 0 : Math.min(1000 * 2 ** this.attempts, MAX_BACKOFF_MS);
    this.attempts += 1;
    this.setState("unavailable", { code, reason, retryInMs: delay });
    this.timers.retry = setTimeout(() => this.open(), delay);
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn("ignoring a frame that is not JSON", text);
      return;
    }
    this.armActivityTimer();
    const data = decode(frame.data);
    switch (frame.event) {
      case "pusher:connection_established":
        return this.established(data);
      case "pusher:ping":
        return this.send("pusher:pong", {});
      case "pusher:pong":
        return;
      case "pusher:error":
        return this.emit("error", data);
      default:
        break;
    }
    const channel = frame.channel && this.channels.get(frame.channel);
    if (!channel) return;
    if (frame.event === "pusher:subscription_error") {
      channel.emit("pusher:subscription_error", data);
      return;
    }
    channel.handle(frame.event, data);
  }

  established(data) {
    this.socketId = data.socket_id;
    this.attempts = 0;
    if (Number.isFinite(data.activity_timeout)) this.activityTimeoutMs = data.activity_timeout * 1000;
    this.armActivityTimer();
    this.setState("connected", { socketId: this.socketId });
    for (const channel of this.channels.values()) this.sendSubscribe(channel);
  }

  async sendSubscribe(channel) {
    const socketId = this.socketId;
    const data = { channel: channel.name };
    if (channel.name.startsWith("private-") || channel.isPresence) {
      try {
        const answer = await this.authorize(socketId, channel.name);
        data.auth = answer.auth;
        if (answer.channel_data !== undefined) {
          data.channel_data = answer.channel_data;
          this.userId = String(JSON.parse(answer.channel_data).user_id);
        }
      } catch (error) {
        channel.emit("pusher:subscription_error", { type: "AuthError", error: String(error.message ?? error) });
        return;
      }
    }
    // The socket may have been replaced while the auth request was in flight; the new one resubscribes itself.
    if (socketId === this.socketId && this.channels.get(channel.name) === channel) {
      this.send("pusher:subscribe", data);
    }
  }

  // -- keeping the connection honest ---------------------------------------------------------------------------

  /** After `activity_timeout` without any frame, ping; without a pong in 30 s, drop the socket and reconnect. */
  armActivityTimer() {
    clearTimeout(this.timers.activity);
    clearTimeout(this.timers.pong);
    this.timers.activity = setTimeout(() => {
      this.send("pusher:ping", {});
      this.timers.pong = setTimeout(() => this.socket?.close(4201, "pong timeout"), PONG_TIMEOUT_MS);
    }, this.activityTimeoutMs);
  }

  clearTimers() {
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
  }

  setState(state, detail = {}) {
    this.state = state;
    this.emit("state_change", state, detail);
  }
}
