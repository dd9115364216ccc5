// A fediverse follower built on Fedify (https://fedify.dev), the ActivityPub framework
// Ghost's ActivityPub service is built on: a third-party implementation the blog is
// tested against (tests/test_federation_fedify.py).
//
// Usage: node follower.mjs
// It serves one account, "reader", on 127.0.0.1 (a free port), then reads commands
// from stdin, one JSON object a line, and writes what happens to stdout, one JSON
// object a line:
//   {"command": "follow", "handle": "@blog@127.0.0.1:PORT"} (or an author's own handle)
//       looks the handle up by WebFinger, fetches the actor, sends a signed Follow
//   {"command": "reply", "inReplyTo": "<post's Article id>", "content": "<p>...</p>"}
//       sends a signed Create(Note) answering the post to the blog's inbox
// Every activity its inbox accepts (Fedify has verified its HTTP signature against
// the sender's published key first) is written as {"event": "inbox", ...}.
import http from "node:http";
import {
  Accept,
  Article,
  Create,
  createFederation,
  Delete,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  MemoryKvStore,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Tombstone,
  Update,
} from "@fedify/fedify";
import readline from "node:readline";

const say = (event) => process.stdout.write(JSON.stringify(event) + "\n");

const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
// The blog runs on loopback in the tests: Fedify refuses private addresses otherwise.
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "reader") return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Rae Reader",
      url: new URL(`/@${identifier}`, ctx.url),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    identifier === "reader" ? [keyPair] : []
  );

const describe = async (activity) => {
  const object = await activity.getObject();
  const event = {
    event: "inbox",
    type: activity.constructor.name,
    id: activity.id?.href,
    actor: activity.actorId?.href,
  };
  if (object instanceof Article) {
    event.object = {
      type: "Article",
      id: object.id?.href,
      name: object.name?.toString(),
      content: object.content?.toString(),
      url: object.url?.href,
      attributedTo: object.attributionId?.href,
    };
  } else if (object instanceof Tombstone) {
    event.object = { type: "Tombstone", id: object.id?.href };
  } else if (object instanceof Follow) {
    event.object = { type: "Follow", id: object.id?.href };
  } else if (object != null) {
    event.object = { type: object.constructor.name, id: object.id?.href };
  }
  say(event);
};

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, async (_ctx, activity) => describe(activity))
  .on(Create, async (_ctx, activity) => describe(activity))
  .on(Update, async (_ctx, activity) => describe(activity))
  .on(Delete, async (_ctx, activity) => {
    say({
      event: "inbox",
      type: "Delete",
      id: activity.id?.href,
      actor: activity.actorId?.href,
      object: { id: activity.objectId?.href },
    });
  })
  .onError(async (_ctx, error) => say({ event: "error", error: String(error) }));

// Node's http server in front of Fedify's fetch-style handler.
const server = http.createServer(async (incoming, outgoing) => {
  const chunks = [];
  for await (const chunk of incoming) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const request = new Request(`http://${incoming.headers.host}${incoming.url}`, {
    method: incoming.method,
    headers: Object.entries(incoming.headers).flatMap(([name, value]) =>
      Array.isArray(value) ? value.map((v) => [name, v]) : [[name, value]]
    ),
    body: ["GET", "HEAD"].includes(incoming.method) ? undefined : body,
  });
  const response = await federation.fetch(request, { contextData: undefined });
  if (incoming.method === "POST") {
    say({ event: "post", path: incoming.url, status: response.status });
  }
  outgoing.writeHead(response.status, Object.fromEntries(response.headers));
  outgoing.end(Buffer.from(await response.arrayBuffer()));
});

server.listen(0, "127.0.0.1", () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const ctx = federation.createContext(new URL(base), undefined);
  say({ event: "ready", base, actor: ctx.getActorUri("reader").href });

  let blog = null;
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", async (line) => {
    const command = JSON.parse(line);
    try {
      if (command.command === "follow") {
        blog = await ctx.lookupObject(command.handle);
        if (blog == null) throw new Error(`${command.handle} not found`);
        say({ event: "found", id: blog.id?.href, inbox: blog.inboxId?.href });
        await ctx.sendActivity(
          { identifier: "reader" },
          blog,
          new Follow({
            id: new URL(`/follows/${Date.now()}`, base),
            actor: ctx.getActorUri("reader"),
            object: blog.id,
          }),
        );
        say({ event: "sent", type: "Follow" });
      } else if (command.command === "reply") {
        const noteId = new URL(`/notes/${Date.now()}`, base);
        await ctx.sendActivity(
          { identifier: "reader" },
          blog,
          new Create({
            id: new URL(`${noteId.href}/create`),
            actor: ctx.getActorUri("reader"),
            to: PUBLIC_COLLECTION,
            object: new Note({
              id: noteId,
              attribution: ctx.getActorUri("reader"),
              replyTarget: new URL(command.inReplyTo),
              content: command.content,
              to: PUBLIC_COLLECTION,
            }),
          }),
        );
        say({ event: "sent", type: "Create", note: noteId.href });
      }
    } catch (error) {
      say({ event: "error", error: String(error?.stack ?? error) });
    }
  });
});
