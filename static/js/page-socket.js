// The page's one socket, shared by the page script and its panels (chat), so a viewer
// holds one connection and is counted once. The page script calls share() after its
// join; panels await sharedSocket().

let resolveShared;
const shared = new Promise((resolve) => {
  resolveShared = resolve;
});

export function share(socket, state) {
  resolveShared({ socket, state });
}

export function sharedSocket() {
  return shared;
}
