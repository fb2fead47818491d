// @ts-check
// HTTP clients: the session-authenticated /admin API and the key-authenticated /api/v1 API.

/** @typedef {"OWNER" | "ADMINISTRATOR" | "USER"} Role */
/** @typedef {"recognition" | "detection" | "verification"} ServiceKind */
/** @typedef {"seed" | "compreface-1.2"} ResponseFormat how age and gender are shaped */
/**
 * @typedef {object} User The signed-in user.
 * @property {string} userId
 * @property {string} email
 * @property {string} firstName
 * @property {string} lastName
 * @property {Role} globalRole
 */
/**
 * @typedef {object} UserRole A user with one role: global in user lists, of the app in members.
 * @property {string} userId
 * @property {string} email
 * @property {string} firstName
 * @property {string} lastName
 * @property {Role} role
 */
/**
 * @typedef {object} App
 * @property {string} id
 * @property {string} name
 * @property {Role | null} role the caller's role in it
 * @property {{userId: string, firstName: string, lastName: string} | null} owner
 * @property {boolean} canManage
 * @property {boolean} canEditServices
 */
/**
 * @typedef {object} ServiceSettings What a service chooses for itself (PUT .../settings).
 * @property {ResponseFormat | null} responseFormat null: the server's
 * @property {number | null} similarityThreshold recognition leaves out matches under it; null: none
 * @property {EnrolmentQuality | null} enrolmentQuality new examples' limits; null: the gate is off
 * @property {boolean} mqttEvents whether its events go to the MQTT broker
 * @property {boolean} keepUnknownFaces recognition keeps the faces it matches to no one
 * @property {boolean} uniqueSubjects recognition gives each subject to one face of a photo
 * @property {string | null} frigateCameras Frigate cameras whose person events it recognises
 *   ("" every camera, null none)
 */
/**
 * @typedef {ServiceSettings & {
 *   id: string, name: string, type: ServiceKind, apiKey: string, createdDate: string,
 *   subjectCount: number, imageCount: number
 * }} Service
 */
/**
 * @typedef {object} EnrolmentQuality Limits on a new example's face; a null limit is not checked.
 * @property {number | null} [minEyeDistance]
 * @property {number | null} [minSharpness]
 * @property {number | null} [minBrightness]
 * @property {number | null} [maxBrightness]
 * @property {number | null} [maxYaw]
 * @property {number | null} [maxPitch]
 * @property {number | null} [minDetection]
 */
/**
 * @typedef {object} Webhook Where a service's events are POSTed (docs/events.md).
 * @property {string} id
 * @property {string} url
 * @property {string[]} events the types it receives; empty: every type
 * @property {boolean} enabled
 * @property {string} createdDate
 * @property {string} [secret] only in the answer to its creation
 */
/**
 * @typedef {object} Delivery One event to one sink, with its last attempt.
 * @property {number} id
 * @property {string} eventId
 * @property {string} type
 * @property {"webhook" | "mqtt"} sink
 * @property {string | null} webhookId
 * @property {string | null} url
 * @property {"pending" | "delivered" | "failed"} state
 * @property {number} attempts
 * @property {number | null} statusCode
 * @property {string | null} error
 * @property {string | null} nextAttemptAt while pending
 * @property {string} createdDate
 * @property {string} updatedDate
 */
/**
 * @typedef {object} AuditEntry One security-relevant action (docs/admin-api.md, "Audit trail").
 * @property {number} id
 * @property {string} time
 * @property {string} action
 * @property {string | null} actorId
 * @property {string | null} actor
 * @property {string | null} address
 * @property {string | null} target
 * @property {Record<string, unknown> | null} detail
 */
/** @typedef {{items: AuditEntry[], page: number, size: number, total: number}} AuditPage */
/**
 * @typedef {object} Mail An account e-mail of the outbox, without its text.
 * @property {number} id
 * @property {"confirmation" | "reset"} kind
 * @property {string} recipient
 * @property {"pending" | "sent" | "failed" | "skipped"} state
 * @property {number} attempts
 * @property {string | null} error
 * @property {string | null} nextAttemptAt while pending
 * @property {string} createdDate
 * @property {string} updatedDate
 */
/**
 * @typedef {object} FrigateStatus The Frigate companion, as one service sees it.
 * @property {boolean} configured whether the server has Frigate (FACEGATE_FRIGATE_URL)
 * @property {string | null} url Frigate's API
 * @property {string | null} cameras those whose person events the service takes ("" every
 *   camera, null none)
 * @property {boolean} byEnvironment whether they are set by FACEGATE_FRIGATE_CAMERAS
 * @property {string | null} mqtt "connected", or why not (null: another worker runs it)
 * @property {string | null} frigate what Frigate last said on its `available` topic
 * @property {string | null} api "reachable", "not called yet" or "unreachable: <why>"
 * @property {number | null} events Frigate events finished since the server started
 * @property {string | null} lastEvent when the last one finished
 */
/**
 * @typedef {object} UnknownCluster Faces recognition matched to no one, alike enough to be one
 *   person (docs/api.md, "Unknown faces, grouped").
 * @property {string} id
 * @property {string} created
 * @property {string} updated
 * @property {{id: string, seen: string, url: string}[]} faces newest first
 */
/**
 * @typedef {object} Rejection "This face is not that subject" (docs/api.md, "Rejections").
 * @property {string} id
 * @property {string} subject
 * @property {string} model
 * @property {string} created
 */
/** @typedef {{image_ids: string[], subjects: string[], similarity: number}} CheckedPair */
/**
 * @typedef {object} GalleryCheck What may make recognition wrong (docs/gallery-check.md).
 * @property {string} model
 * @property {number} examples
 * @property {number} subjects
 * @property {{image_id: string, subject: string}[]} set_aside
 * @property {{image_id: string, subject: string, similarity: number}[]} outliers
 * @property {CheckedPair[]} confusable
 * @property {CheckedPair[]} duplicates
 * @property {{image_id: string, subject: string, reasons: string[]}[] | null} quality
 * @property {{face_id: string, url: string, image_id: string, subject: string,
 *   similarity: number}[]} strangers
 * @property {{current: number, current_false_accept_rate: number | null, pairs: number,
 *   same_subject_pairs: number, suggested: number | null,
 *   suggested_false_accept_rate: number | null, suggested_false_reject_rate: number | null}}
 *   threshold
 * @property {string[]} notes
 */
/** @typedef {{createdDate: string, requestCount: number}} DayCount */
/**
 * @typedef {object} FaceModel The server's model set, and how far it covers the examples.
 * @property {string} name
 * @property {string} calculator
 * @property {string} licence
 * @property {number} inconsistentExamples examples it has not embedded (only another model has)
 * @property {number} examples in every service
 * @property {Record<string, number>} embeddedByModel calculator -> examples it embedded
 */
/**
 * @typedef {object} Config The server's settings the admin UI needs.
 * @property {boolean} mailServiceEnabled
 * @property {boolean} signupOpen
 * @property {FaceModel} faceModel
 * @property {ResponseFormat} responseFormat of services that choose none
 * @property {string[]} eventProblems event sinks that cannot deliver, as sentences (empty: none)
 */
/** @typedef {{firstName: string, lastName: string, email: string, password: string}} NewUser */
/**
 * @typedef {object} Face A face a service found in a photo, with what its plugins add.
 * @property {{x_min: number, y_min: number, x_max: number, y_max: number, probability: number}} box
 * @property {[number, number] | {low: number, high: number}} [age] by release: [low, high] or
 *   {low, high}
 * @property {string | {value: string}} [gender]
 * @property {{pitch: number, roll: number, yaw: number}} [pose] in degrees
 * @property {[number, number][]} [landmarks]
 * @property {{subject: string, similarity: number}[]} [subjects] closest first (recognition)
 * @property {number[]} [embedding] with the `calculator` plugin
 * @property {number} [similarity] to the source face (verification)
 */
/**
 * @typedef {object} FacePage One page of a subject's face examples.
 * @property {{image_id: string, subject: string, set_aside: boolean}[]} faces
 * @property {number} total_pages
 * @property {number} total_elements
 */

const CSRF_COOKIE = "facegate_csrf";
const CSRF_HEADER = "X-CSRF-Token";

/** An error answer of either API, carrying CompreFace's {"message","code"} and the status. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{message?: string, code?: number} | null} body
   */
  constructor(status, body) {
    super(body?.message || `Request failed (HTTP ${status})`);
    this.status = status;
    this.code = body?.code;
  }
}

/** Called with no argument when the session is gone (401), so the app can show the login page. */
let onUnauthorized = () => {};
/** @param {() => void} handler */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/** @param {string} name */
function cookie(name) {
  const prefix = `${name}=`;
  const item = document.cookie.split("; ").find((part) => part.startsWith(prefix));
  return item ? decodeURIComponent(item.slice(prefix.length)) : "";
}

/**
 * An answer's body: its JSON, or its text as a message (a proxy's HTML page, say).
 * @param {string} text
 * @returns {any}
 */
function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/**
 * One call to the admin API; JSON in and out, with the CSRF token on every write.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{quiet401?: boolean}} [options]
 * @returns {Promise<any>}
 */
async function request(method, path, body, { quiet401 = false } = {}) {
  /** @type {Record<string, string>} */
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
export const admin = {
  /** @type {() => Promise<User>} */
  me: () => request("GET", "/user/me", undefined, { quiet401: true }),
  /** @type {() => Promise<Config>} */
  config: () => request("GET", "/config"),
  /** @type {(email: string, password: string) => Promise<User>} */
  login: (email, password) => request("POST", "/login", { email, password }, { quiet401: true }),
  /** @type {() => Promise<void>} */
  logout: () => request("POST", "/logout"),
  /** @type {(user: NewUser) => Promise<{user: User, confirmationRequired: boolean}>} */
  register: (user) => request("POST", "/user/register", user),
  /** @type {(email: string) => Promise<void>} */
  forgotPassword: (email) => request("POST", "/user/forgot-password", { email }),
  /** @type {(token: string, password: string) => Promise<void>} */
  resetPassword: (token, password) =>
    request("PUT", `/user/reset-password?token=${enc(token)}`, { password }),
  /** @type {(firstName: string, lastName: string) => Promise<User>} */
  updateProfile: (firstName, lastName) => request("PUT", "/user/update", { firstName, lastName }),
  /** @type {(oldPassword: string, newPassword: string) => Promise<void>} */
  changePassword: (oldPassword, newPassword) =>
    request("PUT", "/user/me/password", { oldPassword, newPassword }),

  /** @type {() => Promise<UserRole[]>} */
  users: () => request("GET", "/user/roles"),
  /** @type {() => Promise<Role[]>} */
  assignableGlobalRoles: () => request("GET", "/user/global/assign-roles"),
  /** @type {(userId: string, role: Role) => Promise<UserRole>} */
  setGlobalRole: (userId, role) => request("PUT", "/user/global/role", { userId, role }),
  /** @type {(userId: string, replacer?: string) => Promise<void>} */
  deleteUser: (userId, replacer = "deleter") =>
    request("DELETE", `/user/${enc(userId)}?replacer=${replacer}`),
  /** @type {(user: NewUser & {role: Role}) => Promise<UserRole>} */
  createUser: (user) => request("POST", "/user", user),

  /** @type {() => Promise<App[]>} */
  apps: () => request("GET", "/apps"),
  /** @type {(appId: string) => Promise<App>} */
  app: (appId) => request("GET", `/app/${enc(appId)}`),
  /** @type {(name: string) => Promise<App>} */
  createApp: (name) => request("POST", "/app", { name }),
  /** @type {(appId: string, name: string) => Promise<App>} */
  renameApp: (appId, name) => request("PUT", `/app/${enc(appId)}`, { name }),
  /** @type {(appId: string) => Promise<void>} */
  deleteApp: (appId) => request("DELETE", `/app/${enc(appId)}`),
  /** @type {(appId: string) => Promise<UserRole[]>} */
  members: (appId) => request("GET", `/app/${enc(appId)}/roles`),
  /** @type {(appId: string, userEmail: string, role: Role) => Promise<UserRole>} */
  invite: (appId, userEmail, role) =>
    request("POST", `/app/${enc(appId)}/invite`, { userEmail, role }),
  /** @type {(appId: string, userId: string, role: Role) => Promise<UserRole>} */
  setMemberRole: (appId, userId, role) =>
    request("PUT", `/app/${enc(appId)}/role`, { userId, role }),
  /** @type {(appId: string, userId: string) => Promise<void>} */
  removeMember: (appId, userId) => request("DELETE", `/app/${enc(appId)}/user/${enc(userId)}`),

  /** @type {(appId: string) => Promise<Service[]>} */
  services: (appId) => request("GET", `/app/${enc(appId)}/models`),
  /** @type {(appId: string, id: string) => Promise<Service>} */
  service: (appId, id) => request("GET", `/app/${enc(appId)}/model/${enc(id)}`),
  /** @type {(appId: string, name: string, type: ServiceKind) => Promise<Service>} */
  createService: (appId, name, type) => request("POST", `/app/${enc(appId)}/model`, { name, type }),
  /** @type {(appId: string, id: string, name: string) => Promise<Service>} */
  renameService: (appId, id, name) =>
    request("PUT", `/app/${enc(appId)}/model/${enc(id)}`, { name }),
  /** @type {(appId: string, id: string, changes: Partial<ServiceSettings>) => Promise<Service>} */
  changeSettings: (appId, id, changes) =>
    request("PUT", `/app/${enc(appId)}/model/${enc(id)}/settings`, changes),
  /** @type {(appId: string, id: string) => Promise<Webhook[]>} */
  webhooks: (appId, id) => request("GET", `/app/${enc(appId)}/model/${enc(id)}/webhooks`),
  /** @type {(appId: string, id: string, url: string, events: string[]) => Promise<Webhook>} */
  addWebhook: (appId, id, url, events) =>
    request("POST", `/app/${enc(appId)}/model/${enc(id)}/webhooks`, { url, events }),
  /** @type {(appId: string, id: string, hookId: string, enabled: boolean) => Promise<Webhook>} */
  setWebhookEnabled: (appId, id, hookId, enabled) =>
    request("PUT", `/app/${enc(appId)}/model/${enc(id)}/webhooks/${enc(hookId)}`, { enabled }),
  /** @type {(appId: string, id: string, hookId: string) => Promise<void>} */
  deleteWebhook: (appId, id, hookId) =>
    request("DELETE", `/app/${enc(appId)}/model/${enc(id)}/webhooks/${enc(hookId)}`),
  /** @type {(appId: string, id: string) => Promise<Delivery[]>} */
  deliveries: (appId, id) => request("GET", `/app/${enc(appId)}/model/${enc(id)}/deliveries`),
  /** @type {(appId: string, id: string) => Promise<FrigateStatus>} */
  frigate: (appId, id) => request("GET", `/app/${enc(appId)}/model/${enc(id)}/frigate`),
  /** @type {(appId: string, id: string, name: string) => Promise<Service>} */
  cloneService: (appId, id, name) =>
    request("POST", `/app/${enc(appId)}/model/${enc(id)}`, { name }),
  /** @type {(appId: string, id: string) => Promise<Service>} */
  regenerateKey: (appId, id) => request("PUT", `/app/${enc(appId)}/model/${enc(id)}/apikey`),
  /** @type {(appId: string, id: string) => Promise<void>} */
  deleteService: (appId, id) => request("DELETE", `/app/${enc(appId)}/model/${enc(id)}`),
  /** @type {(appId: string, id: string) => Promise<DayCount[]>} */
  statistics: (appId, id) => request("GET", `/app/${enc(appId)}/model/${enc(id)}/statistics`),
  /** @type {(query: {action: string, page: number, size: number}) => Promise<AuditPage>} */
  auditTrail: ({ action, page, size }) => {
    const query = new URLSearchParams({ page: String(page), size: String(size) });
    if (action) query.set("action", action);
    return request("GET", `/audit?${query}`);
  },
  /** @type {() => Promise<Mail[]>} */
  outgoingMail: () => request("GET", "/mail"),
};

/**
 * One call to the face API; JSON out, JSON or a form in. Only the utility endpoints go
 * without a key.
 * @param {string | null} key
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function call(key, method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (key !== null) headers["x-api-key"] = key;
  /** @type {BodyInit | undefined} */
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  const data = parse(await response.text());
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** @param {Record<string, File>} parts */
function form(parts) {
  const data = new FormData();
  for (const [name, file] of Object.entries(parts)) data.append(name, file, file.name);
  return data;
}

/**
 * The size limits the UI checks before uploading.
 * @returns {Promise<{clientMaxFileSize: number, clientMaxBodySize: number}>}
 */
export function uploadLimits() {
  return call(null, "GET", "/config");
}

/**
 * The public face API of one service, authenticated by its key.
 * @param {string} key
 */
export function faceApi(key) {
  return {
    /** @type {() => Promise<{subjects: string[]}>} */
    subjects: () => call(key, "GET", "/recognition/subjects"),
    /** @type {(subject: string) => Promise<{subject: string}>} */
    createSubject: (subject) => call(key, "POST", "/recognition/subjects", { subject }),
    /** @type {(old: string, subject: string) => Promise<{updated: boolean}>} */
    renameSubject: (old, subject) =>
      call(key, "PUT", `/recognition/subjects/${enc(old)}`, { subject }),
    /** @type {(subject: string) => Promise<{subject: string}>} */
    deleteSubject: (subject) => call(key, "DELETE", `/recognition/subjects/${enc(subject)}`),
    /** @type {(subject: string, page: number, size: number) => Promise<FacePage>} */
    faces: (subject, page, size) =>
      call(key, "GET", `/recognition/faces?subject=${enc(subject)}&page=${page}&size=${size}`),
    /** @type {(ids: string[]) => Promise<{image_id: string, subject: string}[]>} */
    deleteFaces: (ids) => call(key, "POST", "/recognition/faces/delete", ids),
    /** @type {(id: string) => string} */
    imageUrl: (id) => `/api/v1/static/${enc(key)}/images/${enc(id)}`,
    /** @type {() => Promise<{clusters: UnknownCluster[]}>} */
    unknownClusters: () => call(key, "GET", "/recognition/unknown-faces/clusters"),
    /** @type {(id: string, subject: string) => Promise<{subject: string, image_ids: string[]}>} */
    nameCluster: (id, subject) =>
      call(key, "POST", `/recognition/unknown-faces/clusters/${enc(id)}/name`, { subject }),
    /** @type {(id: string) => Promise<{deleted: number}>} */
    dismissCluster: (id) => call(key, "DELETE", `/recognition/unknown-faces/clusters/${enc(id)}`),
    /** @type {(quality: boolean) => Promise<GalleryCheck>} */
    galleryCheck: (quality) =>
      call(key, "GET", `/recognition/gallery-check${quality ? "?quality=true" : ""}`),
    /** @type {(id: string, aside: boolean) => Promise<{image_id: string, set_aside: boolean}>} */
    setAside: (id, aside) =>
      call(key, aside ? "PUT" : "DELETE", `/recognition/faces/${enc(id)}/set-aside`),
    /** @type {() => Promise<{rejections: Rejection[]}>} */
    rejections: () => call(key, "GET", "/recognition/rejections"),
    /** @type {(subject: string, embedding: number[]) => Promise<Rejection>} */
    reject: (subject, embedding) =>
      call(key, "POST", "/recognition/rejections", { subject, embedding }),
    /** @type {(id: string) => Promise<Rejection>} */
    undoRejection: (id) => call(key, "DELETE", `/recognition/rejections/${enc(id)}`),
    /**
     * A kept face's picture (its `url`), fetched with the key an <img> cannot send.
     * @type {(url: string) => Promise<Blob>}
     */
    unknownPicture: async (url) => {
      const response = await fetch(url, { headers: { "x-api-key": key } });
      if (!response.ok) throw new ApiError(response.status, parse(await response.text()));
      return response.blob();
    },
    /**
     * Add one example; `onProgress(fraction)` follows the upload (fetch cannot report it).
     * @type {(subject: string, file: File, onProgress: (fraction: number) => void) =>
     *   Promise<{image_id: string, subject: string}>}
     */
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
    /**
     * Run the service's own operation on the given image parts (see tester.js).
     * @type {(path: string, parts: Record<string, File>) => Promise<any>}
     */
    run: (path, parts) => call(key, "POST", path, form(parts)),
  };
}

/** @typedef {ReturnType<typeof faceApi>} FaceApi */
