/* The console's browser phone (JsSIP, served from /static/vendor/jssip): registers the agent's extension over
 * WSS to Asterisk at sign-in, DTLS-SRTP media, ICE with the LAN's host candidates only (no STUN/TURN; candidates
 * outside the server's `ice_networks` are dropped). It never acts on its own: console.js drives it from the
 * console's buttons (answer, hang up, mute, DTMF); hold and transfer stay server-side (call API).
 * Choices kept in this browser (localStorage): browser phone or desk softphone, microphone, speaker, audio
 * processing. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const KEYS = { mode: "hotline.phone.mode", mic: "hotline.phone.mic", speaker: "hotline.phone.speaker",
                 processing: "hotline.phone.processing" };
  const LABELS = { off: "浏览器话机：未启用", connecting: "浏览器话机：连接中…", registered: "浏览器话机：已注册",
                   unregistered: "浏览器话机：未注册", failed: "浏览器话机：注册失败", disconnected: "浏览器话机：网络中断，正在重连…" };
  const CAUSES = { "Authentication Error": "密码错误", "Connection Error": "无法连接服务器", "Request Timeout": "服务器无响应",
                   "Forbidden": "服务器拒绝" };
  const P = { ua: null, account: null, session: null, state: "off", cause: null, stream: null, onChange: null };

  function setting(key, fallback) { try { return localStorage.getItem(KEYS[key]) ?? fallback; } catch (e) { return fallback; } }
  function store(key, value) { try { localStorage.setItem(KEYS[key], value); } catch (e) { /* private mode */ } }

  // ---- LAN candidates only ------------------------------------------------------------------------------
  function ipv4(text) {
    const p = String(text || "").split(".");
    if (p.length !== 4 || !p.every((x) => /^\d{1,3}$/.test(x) && +x < 256)) return null;
    return ((+p[0] << 24) >>> 0) + (+p[1] << 16) + (+p[2] << 8) + +p[3];
  }
  function allowed(address) {
    const nets = (P.account && P.account.ice_networks) || [];
    const a = ipv4(address);
    if (a === null) return false;  // IPv6, mDNS names: not the LAN candidates the server accepts
    return nets.some((net) => {
      const [base, bits] = net.split("/"); const b = ipv4(base);
      if (b === null) return false;
      const mask = +bits === 0 ? 0 : (0xffffffff << (32 - +bits)) >>> 0;
      return ((a & mask) >>> 0) === ((b & mask) >>> 0);
    });
  }
  const candidateAddress = (line) => line.replace(/^a=/, "").split(" ")[4];
  function keepLan(sdp) {
    return sdp.split("\r\n").filter((l) => !l.startsWith("a=candidate:") || allowed(candidateAddress(l))).join("\r\n");
  }

  // ---- state ----------------------------------------------------------------------------------------------
  function setState(state, cause) {
    P.state = state; P.cause = cause || null;
    const pill = $("webrtc-pill");
    if (pill) {
      pill.dataset.reg = state;
      pill.textContent = LABELS[state] + (state === "failed" && cause ? `（${CAUSES[cause] || cause}）` : "");
    }
    changed();
  }
  function changed() { if (P.onChange) P.onChange(api); }
  function ring(on) {
    const el = $("phone-ring");
    if (!el) return;
    if (on) { el.currentTime = 0; el.play().catch(() => {}); } else el.pause();
  }

  function constraints() {
    const processing = setting("processing", "on") !== "off";
    const mic = setting("mic", "");
    return { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing,
             ...(mic ? { deviceId: { ideal: mic } } : {}) };
  }
  async function microphone() {
    // Opened once at sign-in and reused by every call: answering then takes no device start-up time.
    if (P.stream && P.stream.getAudioTracks().some((t) => t.readyState === "live")) return P.stream;
    P.stream = await navigator.mediaDevices.getUserMedia({ audio: constraints(), video: false });
    listDevices();
    return P.stream;
  }
  function dropMicrophone() { if (P.stream) P.stream.getTracks().forEach((t) => t.stop()); P.stream = null; }

  async function listDevices() {
    const mics = $("phone-mic"), speakers = $("phone-speaker");
    if (!mics || !navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, chosen, blank) => {
      const items = devices.filter((d) => d.kind === kind);
      select.innerHTML = `<option value="">${blank}</option>` + items.map((d, i) =>
        `<option value="${d.deviceId.replace(/"/g, "")}">${(d.label || `设备 ${i + 1}`).replace(/[<>&"]/g, "")}</option>`).join("");
      select.value = items.some((d) => d.deviceId === chosen) ? chosen : "";
    };
    fill(mics, "audioinput", setting("mic", ""), "系统默认麦克风");
    fill(speakers, "audiooutput", setting("speaker", ""), "系统默认扬声器");
    speakers.disabled = !("setSinkId" in HTMLMediaElement.prototype);
  }
  async function applySpeaker() {
    const id = setting("speaker", "");
    for (const el of [$("phone-remote"), $("phone-ring")]) {
      if (el && el.setSinkId) { try { await el.setSinkId(id); } catch (e) { /* device gone: default */ } }
    }
  }

  // ---- registration -------------------------------------------------------------------------------------------
  function start(account) {
    if (P.ua && P.account && P.account.uri === account.uri && P.account.password === account.password) return;
    stop();
    P.account = account;
    const ua = new window.JsSIP.UA({
      sockets: [new window.JsSIP.WebSocketInterface(account.ws_url)], uri: account.uri,
      authorization_user: account.authorization_user, password: account.password,
      display_name: account.display_name, register: true, register_expires: 120, session_timers: false,
      connection_recovery_min_interval: 2, connection_recovery_max_interval: 8, user_agent: "hotline12319-console",
    });
    ua.on("connecting", () => { if (P.ua === ua && P.state !== "registered") setState("connecting"); });
    ua.on("registered", () => { if (P.ua === ua) setState("registered"); });
    // A closed socket unregisters too: say "network" then, not "unregistered".
    ua.on("unregistered", () => { if (P.ua === ua) setState(ua.isConnected() ? "unregistered" : "disconnected"); });
    ua.on("registrationFailed", (e) => { if (P.ua === ua) setState("failed", e.cause); });
    // JsSIP reconnects by itself (connection_recovery_*) and registers again once the socket is back.
    ua.on("disconnected", () => { if (P.ua === ua) setState("disconnected"); });
    ua.on("newRTCSession", onSession);
    P.ua = ua;
    setState("connecting");
    ua.start();
    microphone().catch(() => {});
    applySpeaker();
  }
  function stop() {
    const ua = P.ua;
    P.ua = null;
    if (P.session) { try { P.session.terminate(); } catch (e) { /* already gone */ } }
    P.session = null;
    ring(false);
    if (ua) { try { ua.stop(); } catch (e) { /* closed */ } }
    dropMicrophone();
    P.account = null;
    setState("off");
  }
  window.addEventListener("online", () => {  // the network is back: do not wait for JsSIP's next retry
    if (P.ua && P.ua.isConnected() && !P.ua.isRegistered()) P.ua.register();
  });

  // ---- calls ----------------------------------------------------------------------------------------------------
  function onSession({ session, originator }) {
    if (originator !== "remote") return;
    if (P.session) { session.terminate({ status_code: 486, reason_phrase: "Busy Here" }); return; }
    P.session = session;
    session.on("sdp", (e) => { if (e.originator === "local") e.sdp = keepLan(e.sdp); });
    session.on("icecandidate", (e) => {  // answer on the first LAN host candidate instead of waiting for all
      const line = e.candidate && e.candidate.candidate;
      if (line && / udp /i.test(line) && / typ host/.test(line) && allowed(candidateAddress(line))) e.ready();
    });
    session.on("peerconnection", ({ peerconnection }) => {
      peerconnection.addEventListener("track", (ev) => {
        const remote = $("phone-remote");
        if (remote) { remote.srcObject = ev.streams[0] || new MediaStream([ev.track]); remote.play().catch(() => {}); }
      });
    });
    session.on("confirmed", changed);
    session.on("accepted", changed);
    const ended = () => { if (P.session === session) { P.session = null; ring(false); unmuteStream(); changed(); } };
    session.on("ended", ended);
    session.on("failed", ended);
    ring(true);
    changed();
  }
  async function answer() {
    const session = P.session;
    if (!session || session.isEstablished() || session.isEnded()) return false;
    ring(false);
    let stream = null;
    try { stream = await microphone(); } catch (e) { stream = null; }
    session.answer({ mediaConstraints: { audio: constraints(), video: false }, mediaStream: stream || undefined,
                     pcConfig: { iceServers: [] } });
    changed();
    return true;
  }
  function hangup() {
    if (!P.session) return false;
    try { P.session.terminate(); } catch (e) { /* already ended */ }
    return true;
  }
  function unmuteStream() { if (P.stream) P.stream.getAudioTracks().forEach((t) => { t.enabled = true; }); }
  function toggleMute() {
    const s = P.session;
    if (!s || !s.isEstablished()) return null;
    const muted = s.isMuted().audio;
    if (muted) s.unmute({ audio: true }); else s.mute({ audio: true });
    changed();
    return !muted;
  }
  function dtmf(keys) {
    const s = P.session;
    if (!s || !s.isEstablished() || !/^[0-9*#A-D]{1,20}$/.test(keys)) return false;
    s.sendDTMF(keys, { transportType: "RFC2833", duration: 120, interToneGap: 70 });
    return true;
  }
  async function stats() {
    const pc = P.session && P.session.connection;
    if (!pc) return null;
    const out = { codec: null, inLevel: null, outLevel: null, packetsIn: 0, packetsOut: 0, dtls: null, srtp: null,
                  local: null, remote: null };
    const report = await pc.getStats();
    const byId = new Map(); report.forEach((r) => byId.set(r.id, r));
    report.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") {
        out.inLevel = r.audioLevel ?? null; out.packetsIn = r.packetsReceived;
        const c = byId.get(r.codecId); out.codec = c ? c.mimeType : null;
      } else if (r.type === "outbound-rtp" && r.kind === "audio") out.packetsOut = r.packetsSent;
      else if (r.type === "media-source" && r.kind === "audio") out.outLevel = r.audioLevel ?? null;
      else if (r.type === "transport") {
        out.dtls = r.dtlsState; out.srtp = r.srtpCipher || null;
        const pair = byId.get(r.selectedCandidatePairId);
        if (pair) {
          const l = byId.get(pair.localCandidateId), m = byId.get(pair.remoteCandidateId);
          out.local = l ? `${l.address}:${l.port}` : null; out.remote = m ? `${m.address}:${m.port}` : null;
        }
      }
    });
    return out;
  }

  // ---- settings ---------------------------------------------------------------------------------------------------
  function wireSettings() {
    const mode = setting("mode", "browser");
    for (const radio of document.querySelectorAll("input[name=phone-mode]")) {
      radio.checked = radio.value === mode;
      radio.addEventListener("change", () => {
        if (!radio.checked) return;
        store("mode", radio.value);
        document.dispatchEvent(new CustomEvent("phonemode", { detail: radio.value }));  // console.js follows
      });
    }
    const processing = $("phone-processing");
    if (processing) {
      processing.checked = setting("processing", "on") !== "off";
      processing.addEventListener("change", () => { store("processing", processing.checked ? "on" : "off"); dropMicrophone(); });
    }
    if ($("phone-mic")) $("phone-mic").addEventListener("change", (e) => { store("mic", e.target.value); dropMicrophone(); if (P.ua) microphone().catch(() => {}); });
    if ($("phone-speaker")) $("phone-speaker").addEventListener("change", (e) => { store("speaker", e.target.value); applySpeaker(); });
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) navigator.mediaDevices.addEventListener("devicechange", listDevices);
    listDevices().catch(() => {});
  }

  const api = {
    get mode() { return setting("mode", "browser"); },
    get state() { return P.state; }, get cause() { return P.cause; }, get account() { return P.account; },
    get session() { return P.session; },
    get ringing() { return !!P.session && !P.session.isEstablished() && !P.session.isEnded(); },
    get inCall() { return !!P.session && P.session.isEstablished(); },
    get muted() { return !!P.session && P.session.isEstablished() && P.session.isMuted().audio; },
    remoteStream() { const el = $("phone-remote"); return el ? el.srcObject : null; },
    start, stop, answer, hangup, toggleMute, dtmf, stats, listDevices,
    set onChange(fn) { P.onChange = fn; },
  };
  window.consolePhone = api;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireSettings); else wireSettings();
})();
