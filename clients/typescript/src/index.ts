// @gobusdev/gobus: gobus for TypeScript over NATS JetStream, on the wire
// contract of docs/wire.md. Generated code (protoc-gen-gobus-es) declares
// routes and typed send, publish and register functions over this.

export { ClaimError, Claims, claimLimit, claimName, claimsBucketDescription, dataRef, maxHeaderBlock, openClaimsBucket, type Claimed } from "./claim.js";
export { Client, type ConnectOptions, type Outgoing, type Publisher, type RequestOptions, type Sender, type SendOptions } from "./client.js";
export { Endpoint, MessageContext, type EndpointOptions, type Handler, type Logger } from "./endpoint.js";
export { eventFilterSubjects, filterFields, filteredSubject, filterText, filterToken, filterTokens, maxFilterFields, maxFilterTokenLength, type EventFilter, type FilterValue } from "./filter.js";
export { GobusError, KindError, NotImplementedError, UnrecoverableError, unrecoverable, type ErrorKind } from "./errors.js";
export { DerivedIds, idNamespace, uuidV5, uuidV7 } from "./ids.js";
export { defaultRetryPolicy, maxAttempts, noRetries, type RetryPolicy } from "./retry.js";
export { command, event, Names, reply, type CommandRoute, type EventRoute, type ReplyRoute, type Route, type RouteMessage } from "./routes.js";
export { decodeAttribute, encodeAttribute, escapeHeaderValue, Header, MalformedError, parseEnvelope, protobufContentType, type Envelope } from "./wire.js";
