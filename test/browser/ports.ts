/** Where the browser tests' servers listen (loopback only), and the edge's admin token. */
export const SIMULATOR_PORT = 8810;
export const EDGE_PORT = 8811;
/** The host page on the origin the tests' publishable keys allow. */
export const HOST_PORT = 8812;
/** Another host page, on an origin no key allows (served as http://localhost:8813). */
export const OTHER_PORT = 8813;
/** A proxy in front of the edge that can cut a stream (test/browser/reattach.test.ts). */
export const PROXY_PORT = 8814;
export const ADMIN_TOKEN = 'browser-admin-token';
