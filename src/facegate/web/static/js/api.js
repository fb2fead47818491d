// HTTP clients: the session-authenticated /admin API and the key-authenticated /api/v1 API.

const CSRF_COOKIE = "facegate_csrf";
const CSRF_HEADER = "X-CSRF-Token";

/** An error answer of either API, carrying CompreFace's {"message","code"} and the status. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `Request failed (HTTP ${status})`);
    this.status = status;
    this.code = body?.code;
  }
}

/** Called with no argument when the session is gone (401), so the app can show the login page. */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

function cookie(name) {
  const prefix = `${name}=`;
  const item = document.cookie.split("; ").find((part) => part.startsWith(prefix));
  return item ? decodeURIComponent(item.slice(prefix.length)) : "";
}

/** An answer's body: its JSON, or its text as a message (a proxy's HTML page, say). */
function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/** One call to the admin API; JSON in and out, with the CSRF token on every write. */
export async function admin(method, path, body, { quiet401 = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = cookie(CSRF_COOKIE);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/admin${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = parse(await response.text());
  if (response.status === 401 && !quiet401) onUnauthorized();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const enc = encodeURIComponent;

/** The admin API, one function per action the UI takes (see docs/admin-api.md). */
export const accounts = {
  me: () => admin("GET", "/user/me", undefined, { quiet401: true }),
  config: () => admin("GET", "/config"),
  login: (email, password) => admin("POST", "/login", { email, password }, { quiet401: true }),
  logout: () => admin("POST", "/logout"),
  register: (user) => admin("POST", "/user/register", user),
  forgotPassword: (email) => admin("POST", "/user/forgot-password", { email }),
  resetPassword: (token, password) =>
    admin("PUT", `/user/reset-password?token=${enc(token)}`, { password }),
  updateProfile: (firstName, lastName) => admin("PUT", "/user/update", { firstName, lastName }),
  changePassword: (oldPassword, newPassword) =>
    admin("PUT", "/user/me/password", { oldPassword, newPassword }),

  users: () => admin("GET", "/user/roles"),
  assignableGlobalRoles: () => admin("GET", "/user/global/assign-roles"),
  setGlobalRole: (userId, role) => admin("PUT", "/user/global/role", { userId, role }),
  deleteUser: (userId, replacer = "deleter") =>
    admin("DELETE", `/user/${enc(userId)}?replacer=${replacer}`),
  createUser: (user) => admin("POST", "/user", user),

  apps: () => admin("GET", "/apps"),
  app: (appId) => admin("GET", `/app/${enc(appId)}`),
  createApp: (name) => admin("POST", "/app", { name }),
  renameApp: (appId, name) => admin("PUT", `/app/${enc(appId)}`, { name }),
  deleteApp: (appId) => admin("DELETE", `/app/${enc(appId)}`),
  members: (appId) => admin("GET", `/app/${enc(appId)}/roles`),
  assignableAppRoles: (appId) => admin("GET", `/app/${enc(appId)}/assign-roles`),
  invite: (appId, userEmail, role) =>
    admin("POST", `/app/${enc(appId)}/invite`, { userEmail, role }),
  setMemberRole: (appId, userId, role) => admin("PUT", `/app/${enc(appId)}/role`, { userId, role }),
  removeMember: (appId, userId) => admin("DELETE", `/app/${enc(appId)}/user/${enc(userId)}`),

  services: (appId) => admin("GET", `/app/${enc(appId)}/models`),
  service: (appId, id) => admin("GET", `/app/${enc(appId)}/model/${enc(id)}`),
  createService: (appId, name, type) => admin("POST", `/app/${enc(appId)}/model`, { name, type }),
  renameService: (appId, id, name) => admin("PUT", `/app/${enc(appId)}/model/${enc(id)}`, { name }),
  cloneService: (appId, id, name) => admin("POST", `/app/${enc(appId)}/model/${enc(id)}`, { name }),
  regenerateKey: (appId, id) => admin("PUT", `/app/${enc(appId)}/model/${enc(id)}/apikey`),
  deleteService: (appId, id) => admin("DELETE", `/app/${enc(appId)}/model/${enc(id)}`),
  statistics: (appId, id) => admin("GET", `/app/${enc(appId)}/model/${enc(id)}/statistics`),
};

async function call(key, method, path, body) {
  const headers = { "x-api-key": key, Accept: "application/json" };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  const data = parse(await response.text());
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function form(parts) {
  const data = new FormData();
  for (const [name, file] of Object.entries(parts)) data.append(name, file, file.name);
  return data;
}

/** The public face API of one service, authenticated by its key. */
export function faceApi(key) {
  return {
    subjects: () => call(key, "GET", "/recognition/subjects"),
    createSubject: (subject) => call(key, "POST", "/recognition/subjects", { subject }),
    renameSubject: (old, subject) =>
      call(key, "PUT", `/recognition/subjects/${enc(old)}`, { subject }),
    deleteSubject: (subject) => call(key, "DELETE", `/recognition/subjects/${enc(subject)}`),
    faces: (subject, page, size) =>
      call(key, "GET", `/recognition/faces?subject=${enc(subject)}&page=${page}&size=${size}`),
    deleteFaces: (ids) => call(key, "POST", "/recognition/faces/delete", ids),
    imageUrl: (id) => `/api/v1/static/${enc(key)}/images/${enc(id)}`,
    /** Add one example; `onProgress(fraction)` follows the upload (fetch cannot report it). */
    addFace: (subject, file, onProgress) =>
      new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", `/api/v1/recognition/faces?subject=${enc(subject)}`);
        xhr.setRequestHeader("x-api-key", key);
        xhr.upload.onprogress = (event) => {
          if (event.lengthComputable) onProgress(event.loaded / event.total);
        };
        xhr.onload = () => {
          const data = parse(xhr.responseText);
          if (xhr.status >= 200 && xhr.status < 300) resolve(data);
          else reject(new ApiError(xhr.status, data));
        };
        xhr.onerror = () => reject(new Error("Network error"));
        xhr.send(form({ file }));
      }),
    /** Run the service's own operation on the given image parts (see tester.js). */
    run: (path, parts) => call(key, "POST", path, form(parts)),
  };
}
