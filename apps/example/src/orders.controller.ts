import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
// `Request` would clash with @nestjs/common's parameter decorator: import it under another name.
import { ConveyorClient, Request as ConveyorRequest } from '@conveyor/nestjs';
import { IsInt, IsString, Min } from 'class-validator';

export class PlaceOrder {
  @IsString() item!: string;
  @IsInt() @Min(1) quantity!: number;
}

export interface OrderPlaced {
  orderId: string;
  item: string;
  quantity: number;
  paymentId: string;
}

let nextOrder = 0;

@Controller()
export class OrdersController {
  constructor(private readonly conveyor: ConveyorClient) {}

  /** Request/response: validates, charges through payments, then tells everyone. */
  @ConveyorRequest('orders.place')
  @UsePipes(new ValidationPipe())
  async place(@Payload() order: PlaceOrder): Promise<OrderPlaced> {
    const orderId = `order-${++nextOrder}`;
    const payment = await this.conveyor.request<{ paymentId: string }>(
      'payments.charge',
      { orderId, amount: order.quantity * 3 },
      { timeout: 2_000, retries: 2 },
    );
    const placed = { orderId, item: order.item, quantity: order.quantity, paymentId: payment.paymentId };
    await this.conveyor.broadcast('order.placed', placed);
    return placed;
  }
}
