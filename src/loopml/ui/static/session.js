// Who is signed in, and what their roles allow the page to offer (the server checks again on every call).
export const session = { me: null };
const has = (...roles) => Boolean(session.me) && roles.some((r) => session.me.roles.includes(r));
export const canWrite = () => has("data-scientist", "admin");
export const canApprove = () => has("approver", "admin");
