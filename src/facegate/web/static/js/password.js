// @ts-check
// The password rule every form that sets a password checks, before the server does.

export const MIN_PASSWORD = 8;
