// The package ships no types: its one export, the Redis Cluster hash slot of a key (hash tags
// honoured), as ioredis itself uses it.
declare module 'cluster-key-slot' {
  export default function calculateSlot(key: string | Buffer): number;
}
